// PayloadArena (connectors/kafka/payload_arena.h): copies stay intact while
// their records are outstanding, blocks come back once every record in them
// was released, big payloads get a block of their own, Trim frees idle ones.

#include "connectors/kafka/payload_arena.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace eddy {
namespace {

using Block = PayloadArena::Block;

TEST(PayloadArena, CopiesLieBackToBackAndStayIntact) {
  PayloadArena arena;
  Block* first = nullptr;
  Block* second = nullptr;
  const std::string_view a = arena.Copy("hello", &first);
  const std::string_view b = arena.Copy("", &second);
  const std::string_view c = arena.Copy("world", &second);
  EXPECT_EQ(first, second);
  EXPECT_EQ(a, "hello");
  EXPECT_EQ(b, "");
  EXPECT_NE(b.data(), nullptr);  // an empty record, not a null one
  EXPECT_EQ(c, "world");
  EXPECT_EQ(c.data(), a.data() + 5);
  EXPECT_EQ(first->outstanding.load(), 3);
}

TEST(PayloadArena, ABlockIsUsedAgainOnlyOnceEveryRecordInItWasReleased) {
  PayloadArena arena;
  const std::string record(PayloadArena::kBlockBytes / 4, 'x');
  std::vector<Block*> blocks;
  for (int i = 0; i < 8; ++i) {  // two blocks' worth
    Block* block = nullptr;
    arena.Copy(record, &block);
    blocks.push_back(block);
  }
  EXPECT_EQ(arena.blocks(), 2u);
  Block* full = blocks.front();
  EXPECT_EQ(full->outstanding.load(), 4);
  // Three of the first block's four records delivered: a new block.
  for (int i = 0; i < 3; ++i) PayloadArena::Release(full);
  Block* next = nullptr;
  arena.Copy(record, &next);
  EXPECT_NE(next, full);
  EXPECT_EQ(arena.blocks(), 3u);
  // All of them: the next block to start is the first one, from its start.
  PayloadArena::Release(full);
  for (int i = 0; i < 3; ++i) arena.Copy(record, &next);
  const std::string_view reused = arena.Copy("again", &next);
  EXPECT_EQ(next, full);
  EXPECT_EQ(reused.data(), full->data.get());
  EXPECT_EQ(reused, "again");
  EXPECT_EQ(arena.blocks(), 3u);
}

TEST(PayloadArena, ABigPayloadHasABlockOfItsOwnAndTrimFreesIdleBlocks) {
  PayloadArena arena;
  const std::string big(3 * PayloadArena::kBlockBytes, 'b');
  Block* small = nullptr;
  Block* large = nullptr;
  arena.Copy("a", &small);
  const std::string_view copy = arena.Copy(big, &large);
  EXPECT_NE(small, large);
  EXPECT_EQ(copy, big);
  EXPECT_EQ(arena.bytes(), 4 * PayloadArena::kBlockBytes);
  // Outstanding blocks are kept, whatever the limit.
  arena.Trim(0);
  EXPECT_EQ(arena.blocks(), 2u);
  PayloadArena::Release(small);
  arena.Trim(0);
  EXPECT_EQ(arena.blocks(), 1u);  // `large` is outstanding (and current)
  PayloadArena::Release(large);
  arena.Trim(3 * PayloadArena::kBlockBytes);
  EXPECT_EQ(arena.bytes(), 3 * PayloadArena::kBlockBytes);
}

}  // namespace
}  // namespace eddy
