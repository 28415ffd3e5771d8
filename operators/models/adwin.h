#pragma once
// ADWIN (ADaptive WINdowing; Bifet & Gavalda 2007), the change detector of
// the Hoeffding adaptive tree, usable on its own for any [0, 1]-bounded
// stream (an error indicator, a loss).
//
// Keeps a window of recent values compressed into an exponential histogram
// (rows of buckets holding 2^r values each, at most max_buckets per row), and
// every `clock` updates checks every split of the window into an older W0
// and a newer W1 at bucket boundaries: when
//   |mean(W0) - mean(W1)| > sqrt(2 m v d') + 2/3 d' m,
//   m = 1/(n0 - min_len + 1) + 1/(n1 - min_len + 1),  d' = ln(2 ln(n) / delta),
//   v = the window's variance,
// it drops the oldest bucket and checks again. Update returns true when the
// window shrank, i.e. a change was detected. Same cut test, compression and
// defaults (delta 0.002, clock 32, 5 buckets per row, minimum length 5) as
// MOA's ADWIN and river's.
//
// Thread-safety: none. Snapshots hold the whole histogram.

#include <cstdint>
#include <deque>
#include <vector>

namespace eddy::learn {

namespace pb {
class AdwinState;
}  // namespace pb

class Adwin {
 public:
  explicit Adwin(double delta = 0.002, int clock = 32, int max_buckets = 5,
                 int min_window_length = 5);

  // Adds `value`; true when a change was detected (the window shrank).
  bool Update(double value);

  double estimation() const { return width_ > 0 ? total_ / static_cast<double>(width_) : 0.0; }
  int64_t width() const { return width_; }
  double variance() const { return width_ > 0 ? variance_ / static_cast<double>(width_) : 0.0; }
  int64_t detections() const { return detections_; }
  double delta() const { return delta_; }

  void Save(pb::AdwinState* out) const;
  // False when the state is inconsistent.
  bool Load(const pb::AdwinState& in);

 private:
  struct Bucket {
    double total;
    double variance;
  };
  void Compress();
  void DropOldest();
  bool DetectChange();

  double delta_;
  int clock_;
  int max_buckets_;
  int min_window_length_;
  // rows_[r] holds buckets of 2^r values, newest at the front.
  std::vector<std::deque<Bucket>> rows_;
  int64_t width_ = 0;
  double total_ = 0;
  double variance_ = 0;  // sum of squared deviations over the window
  int64_t time_ = 0;
  int64_t detections_ = 0;
};

}  // namespace eddy::learn
