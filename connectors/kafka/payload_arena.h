#pragma once
// PayloadArena: where KafkaWriter keeps the bytes of the records it has
// queued until their delivery reports, so librdkafka takes them without a
// copy of its own (no RD_KAFKA_MSG_F_COPY).
//
// Why: with F_COPY every record is one malloc of a different size (the
// message struct plus its payload), freed on delivery in another order;
// beside the small fixed-size allocations of a record's headers that
// fragments glibc's heap, and malloc's slow path became the largest cost of
// the exactly-once sink (tests/bench/README.md). Here payloads are copied
// back to back into 1 MiB blocks, and a block is used again once every
// record in it was delivered, so a steady sink touches the same memory
// batch after batch; librdkafka's own allocation per record is then of one
// size.
//
// Thread-safety: Copy and Trim from the writer's thread; Release from any
// thread (delivery reports).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace eddy {

class PayloadArena {
 public:
  // A block of payloads; what a record's delivery report releases.
  struct Block {
    explicit Block(size_t capacity) : data(new char[capacity]), capacity(capacity) {}
    std::unique_ptr<char[]> data;
    const size_t capacity;
    size_t used = 0;
    std::atomic<int64_t> outstanding{0};  // records copied in and not yet released
  };

  static constexpr size_t kBlockBytes = size_t{1} << 20;

  // Copies `bytes` (counted as one record of the block returned); the copy
  // stays valid until Release(block) was called for it.
  std::string_view Copy(std::string_view bytes, Block** block);
  // One record of `block` is no longer needed (delivered, failed or never
  // queued).
  static void Release(Block* block) { block->outstanding.fetch_sub(1, std::memory_order_acq_rel); }

  // Frees idle blocks until at most `keep_bytes` of blocks remain.
  void Trim(size_t keep_bytes);
  // Bytes of all blocks, in use or idle.
  size_t bytes() const { return bytes_; }
  size_t blocks() const { return blocks_.size(); }

 private:
  Block* Acquire(size_t size);

  std::vector<std::unique_ptr<Block>> blocks_;
  Block* current_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace eddy
