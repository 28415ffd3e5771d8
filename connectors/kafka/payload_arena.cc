#include "connectors/kafka/payload_arena.h"

#include <algorithm>
#include <cstring>

namespace eddy {

std::string_view PayloadArena::Copy(std::string_view bytes, Block** block) {
  if (current_ == nullptr || current_->used + bytes.size() > current_->capacity) {
    current_ = Acquire(bytes.size());
  }
  char* copy = current_->data.get() + current_->used;
  if (!bytes.empty()) std::memcpy(copy, bytes.data(), bytes.size());
  current_->used += bytes.size();
  current_->outstanding.fetch_add(1, std::memory_order_relaxed);
  *block = current_;
  return std::string_view(copy, bytes.size());
}

// An idle block (every record in it released) large enough, else a new one.
// Blocks are few (the bytes in flight / 1 MiB), so a scan is cheap.
PayloadArena::Block* PayloadArena::Acquire(size_t size) {
  for (const std::unique_ptr<Block>& block : blocks_) {
    if (block->capacity >= size && block->outstanding.load(std::memory_order_acquire) == 0) {
      block->used = 0;
      return block.get();
    }
  }
  blocks_.push_back(std::make_unique<Block>(std::max(size, kBlockBytes)));
  bytes_ += blocks_.back()->capacity;
  return blocks_.back().get();
}

void PayloadArena::Trim(size_t keep_bytes) {
  for (size_t idx = blocks_.size(); idx-- > 0 && bytes_ > keep_bytes;) {
    Block* block = blocks_[idx].get();
    if (block == current_ || block->outstanding.load(std::memory_order_acquire) != 0) continue;
    bytes_ -= block->capacity;
    blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(idx));
  }
}

}  // namespace eddy
