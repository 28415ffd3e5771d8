#include "operators/models/adwin.h"

#include <cmath>

#include "operators/models/model.pb.h"

namespace eddy::learn {

Adwin::Adwin(double delta, int clock, int max_buckets, int min_window_length)
    : delta_(delta),
      clock_(clock),
      max_buckets_(max_buckets),
      min_window_length_(min_window_length) {}

bool Adwin::Update(double value) {
  ++time_;
  // Insert as a bucket of one value; incremental variance (MOA's insertElement).
  if (rows_.empty()) rows_.emplace_back();
  rows_[0].push_front({value, 0.0});
  ++width_;
  if (width_ > 1) {
    const double mean_before = total_ / static_cast<double>(width_ - 1);
    variance_ += static_cast<double>(width_ - 1) * (value - mean_before) * (value - mean_before) /
                 static_cast<double>(width_);
  }
  total_ += value;
  Compress();
  if (time_ % clock_ != 0 || width_ <= min_window_length_) return false;
  const bool changed = DetectChange();
  if (changed) ++detections_;
  return changed;
}

void Adwin::Compress() {
  for (size_t row = 0; row < rows_.size(); ++row) {
    if (static_cast<int>(rows_[row].size()) <= max_buckets_) break;
    // Merge the two oldest buckets of this row into one of the next row.
    const Bucket older = rows_[row].back();
    rows_[row].pop_back();
    const Bucket old = rows_[row].back();
    rows_[row].pop_back();
    const double n = std::ldexp(1.0, static_cast<int>(row));
    const double mean_diff = older.total / n - old.total / n;
    const Bucket merged{older.total + old.total,
                        older.variance + old.variance + n * n * mean_diff * mean_diff / (2 * n)};
    if (row + 1 == rows_.size()) rows_.emplace_back();
    rows_[row + 1].push_front(merged);
  }
}

void Adwin::DropOldest() {
  const size_t row = rows_.size() - 1;
  const Bucket bucket = rows_[row].back();
  const double n = std::ldexp(1.0, static_cast<int>(row));
  width_ -= static_cast<int64_t>(n);
  total_ -= bucket.total;
  const double w = static_cast<double>(width_);
  const double mean_diff = bucket.total / n - (w > 0 ? total_ / w : 0.0);
  variance_ -= bucket.variance + n * w * mean_diff * mean_diff / (n + w);
  if (variance_ < 0 || width_ == 0) variance_ = width_ == 0 ? 0.0 : std::max(variance_, 0.0);
  rows_[row].pop_back();
  if (rows_[row].empty()) rows_.pop_back();
}

bool Adwin::DetectChange() {
  bool changed = false;
  bool reduced = true;
  while (reduced) {
    reduced = false;
    double n0 = 0, n1 = static_cast<double>(width_);
    double u0 = 0, u1 = total_;
    const double n = static_cast<double>(width_);
    const double v = variance();
    const double dd = std::log(2.0 * std::log(n) / delta_);
    // Walk from the oldest bucket to the newest: W0 grows, W1 shrinks.
    for (size_t row = rows_.size(); row-- > 0 && !reduced;) {
      const double size = std::ldexp(1.0, static_cast<int>(row));
      const std::deque<Bucket>& buckets = rows_[row];
      for (size_t i = buckets.size(); i-- > 0;) {
        if (row == 0 && i == 0) break;  // W1 must keep the newest bucket
        n0 += size;
        n1 -= size;
        u0 += buckets[i].total;
        u1 -= buckets[i].total;
        if (n0 <= min_window_length_ + 1 || n1 <= min_window_length_ + 1) continue;
        const double m = 1.0 / (n0 - min_window_length_ + 1) + 1.0 / (n1 - min_window_length_ + 1);
        const double epsilon = std::sqrt(2.0 * m * v * dd) + 2.0 / 3.0 * dd * m;
        if (std::abs(u0 / n0 - u1 / n1) > epsilon) {
          DropOldest();
          reduced = true;
          changed = true;
          break;
        }
      }
    }
    if (width_ <= min_window_length_) break;
  }
  return changed;
}

void Adwin::Save(pb::AdwinState* out) const {
  out->Clear();
  out->set_delta(delta_);
  out->set_width(width_);
  out->set_total(total_);
  out->set_variance(variance_);
  out->set_time(time_);
  out->set_clock(clock_);
  out->set_max_buckets(max_buckets_);
  out->set_min_window_length(min_window_length_);
  out->set_detections(detections_);
  for (size_t row = 0; row < rows_.size(); ++row) {
    for (const Bucket& bucket : rows_[row]) {
      out->add_bucket_row(static_cast<int32_t>(row));
      out->add_bucket_total(bucket.total);
      out->add_bucket_variance(bucket.variance);
    }
  }
}

bool Adwin::Load(const pb::AdwinState& in) {
  if (in.clock() < 1 || in.max_buckets() < 1 || in.bucket_row_size() != in.bucket_total_size() ||
      in.bucket_row_size() != in.bucket_variance_size()) {
    return false;
  }
  delta_ = in.delta();
  clock_ = in.clock();
  max_buckets_ = in.max_buckets();
  min_window_length_ = in.min_window_length();
  width_ = in.width();
  total_ = in.total();
  variance_ = in.variance();
  time_ = in.time();
  detections_ = in.detections();
  rows_.clear();
  int64_t width = 0;
  for (int i = 0; i < in.bucket_row_size(); ++i) {
    const int row = in.bucket_row(i);
    if (row < 0 || row > 62 || row < static_cast<int>(rows_.size()) - 1) return false;
    while (static_cast<int>(rows_.size()) <= row) rows_.emplace_back();
    rows_[row].push_back({in.bucket_total(i), in.bucket_variance(i)});
    width += int64_t{1} << row;
  }
  return width == width_;
}

}  // namespace eddy::learn
