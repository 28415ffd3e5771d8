// The Yahoo Streaming Benchmark (YSB) workload: ad events and the
// ad -> campaign table they are joined against. Mirrors the benchmark's own
// generator (github.com/yahoo/streaming-benchmarks): a random user and page
// per event, an ad from a fixed table of campaigns * ads_per_campaign ads,
// and ad_type / event_type drawn uniformly from the benchmark's lists. Event
// time is a real timestamp column rather than the benchmark's millisecond
// string.

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <string_view>

#include "connectors/generator/generators.h"

namespace eddy::generator {
namespace {

constexpr std::array<std::string_view, 5> kAdTypes = {"banner", "modal", "sponsored-search", "mail",
                                                      "mobile"};
constexpr std::array<std::string_view, 3> kEventTypes = {"view", "click", "purchase"};
constexpr size_t kUuidChars = 36;
constexpr int64_t kMaxAds = 1'000'000;

void WriteHex(uint64_t value, int digits, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int pos = digits - 1; pos >= 0; --pos) {
    out[pos] = kHex[value & 0xF];
    value >>= 4;
  }
}

// The uuid at `index` of a stream: 8-4-4-4-12 lowercase hex, with the version
// (4) and variant bits of java.util.UUID.randomUUID(), as in the benchmark.
void FormatUuid(uint64_t key, uint64_t index, char* out) {
  uint64_t hi = HashAt(key, 2 * index);
  uint64_t lo = HashAt(key, 2 * index + 1);
  hi = (hi & ~0xF000ULL) | 0x4000ULL;
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
  WriteHex(hi >> 32, 8, out);
  out[8] = '-';
  WriteHex(hi >> 16, 4, out + 9);
  out[13] = '-';
  WriteHex(hi, 4, out + 14);
  out[18] = '-';
  WriteHex(lo >> 48, 4, out + 19);
  out[23] = '-';
  WriteHex(lo, 12, out + 24);
}

// "a.b.c.d" from the four low bytes of `hash`; returns the length.
size_t FormatIp(uint64_t hash, char* out) {
  size_t len = 0;
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) out[len++] = '.';
    const unsigned value = static_cast<unsigned>((hash >> (8 * (3 - octet))) & 0xFF);
    if (value >= 100) out[len++] = static_cast<char>('0' + value / 100);
    if (value >= 10) out[len++] = static_cast<char>('0' + value / 10 % 10);
    out[len++] = static_cast<char>('0' + value % 10);
  }
  return len;
}

// The ad and campaign uuids, laid out at a fixed stride so a row's value is
// a slice, not a formatted string.
struct AdTable {
  int64_t campaigns = 0;
  int64_t ads_per_campaign = 0;
  std::string ad_uuids;        // ad j at [36 j, 36 j + 36)
  std::string campaign_uuids;  // campaign c at [36 c, 36 c + 36)

  int64_t ads() const { return campaigns * ads_per_campaign; }
  std::string_view ad(uint64_t j) const {
    return std::string_view(ad_uuids).substr(j * kUuidChars, kUuidChars);
  }
  std::string_view campaign_of_ad(uint64_t j) const {
    const uint64_t campaign = j / static_cast<uint64_t>(ads_per_campaign);
    return std::string_view(campaign_uuids).substr(campaign * kUuidChars, kUuidChars);
  }
};

AdTable BuildAdTable(uint64_t seed, int64_t campaigns, int64_t ads_per_campaign) {
  AdTable table;
  table.campaigns = campaigns;
  table.ads_per_campaign = ads_per_campaign;
  table.ad_uuids.resize(static_cast<size_t>(table.ads()) * kUuidChars);
  const uint64_t ad_key = StreamKey(seed, kYsbAdUuid);
  for (int64_t j = 0; j < table.ads(); ++j) {
    FormatUuid(ad_key, static_cast<uint64_t>(j), table.ad_uuids.data() + j * kUuidChars);
  }
  table.campaign_uuids.resize(static_cast<size_t>(campaigns) * kUuidChars);
  const uint64_t campaign_key = StreamKey(seed, kYsbCampaignUuid);
  for (int64_t c = 0; c < campaigns; ++c) {
    FormatUuid(campaign_key, static_cast<uint64_t>(c),
               table.campaign_uuids.data() + c * kUuidChars);
  }
  return table;
}

Field NotNull(std::string name, TypeId type) { return Field{std::move(name), type, false}; }

class YsbEvents final : public RecordGenerator {
 public:
  YsbEvents(uint64_t seed, AdTable table)
      : schema_({NotNull("user_id", TypeId::kString), NotNull("page_id", TypeId::kString),
                 NotNull("ad_id", TypeId::kString), NotNull("ad_type", TypeId::kString),
                 NotNull("event_type", TypeId::kString), NotNull("event_time", TypeId::kTimestamp),
                 NotNull("ip_address", TypeId::kString)}),
        table_(std::move(table)),
        user_key_(StreamKey(seed, kYsbUser)),
        page_key_(StreamKey(seed, kYsbPage)),
        ad_choice_key_(StreamKey(seed, kYsbAdChoice)),
        ad_type_key_(StreamKey(seed, kYsbAdType)),
        event_type_key_(StreamKey(seed, kYsbEventType)),
        ip_key_(StreamKey(seed, kYsbIp)) {}

  const Schema& schema() const override { return schema_; }

  void Fill(const RecordSpan& records, std::span<const TimestampMicros> event_times,
            Batch* out) const override {
    const size_t rows = records.rows;
    char buf[kUuidChars];
    FillUuids(records, user_key_, &out->column(0));
    FillUuids(records, page_key_, &out->column(1));

    Column& ad_id = out->column(2);
    const uint64_t ads = static_cast<uint64_t>(table_.ads());
    for (size_t row = 0; row < rows; ++row) {
      ad_id.AppendString(table_.ad(Below(HashAt(ad_choice_key_, records.index(row)), ads)));
    }
    FillChoice(records, ad_type_key_, kAdTypes, &out->column(3));
    FillChoice(records, event_type_key_, kEventTypes, &out->column(4));

    std::span<int64_t> times = ExtendInt64(&out->column(5), rows);
    std::copy(event_times.begin(), event_times.end(), times.begin());

    Column& ip = out->column(6);
    for (size_t row = 0; row < rows; ++row) {
      const size_t len = FormatIp(HashAt(ip_key_, records.index(row)), buf);
      ip.AppendString(std::string_view(buf, len));
    }
  }

 private:
  static void FillUuids(const RecordSpan& records, uint64_t key, Column* column) {
    char buf[kUuidChars];
    for (size_t row = 0; row < records.rows; ++row) {
      FormatUuid(key, records.index(row), buf);
      column->AppendString(std::string_view(buf, kUuidChars));
    }
  }

  template <size_t N>
  static void FillChoice(const RecordSpan& records, uint64_t key,
                         const std::array<std::string_view, N>& values, Column* column) {
    for (size_t row = 0; row < records.rows; ++row) {
      column->AppendString(values[Below(HashAt(key, records.index(row)), N)]);
    }
  }

  const Schema schema_;
  const AdTable table_;
  const uint64_t user_key_;
  const uint64_t page_key_;
  const uint64_t ad_choice_key_;
  const uint64_t ad_type_key_;
  const uint64_t event_type_key_;
  const uint64_t ip_key_;
};

// Row j is ad j and its campaign, j in [0, campaigns * ads_per_campaign).
class YsbCampaigns final : public RecordGenerator {
 public:
  explicit YsbCampaigns(AdTable table)
      : schema_({NotNull("ad_id", TypeId::kString), NotNull("campaign_id", TypeId::kString)}),
        table_(std::move(table)) {}

  const Schema& schema() const override { return schema_; }
  std::optional<int64_t> fixed_count() const override { return table_.ads(); }

  // REQUIRES: every index < fixed_count() (the source bounds reads by count).
  void Fill(const RecordSpan& records, std::span<const TimestampMicros> event_times,
            Batch* out) const override {
    Column& ad_id = out->column(0);
    Column& campaign_id = out->column(1);
    for (size_t row = 0; row < records.rows; ++row)
      ad_id.AppendString(table_.ad(records.index(row)));
    for (size_t row = 0; row < records.rows; ++row) {
      campaign_id.AppendString(table_.campaign_of_ad(records.index(row)));
    }
  }

 private:
  const Schema schema_;
  const AdTable table_;
};

}  // namespace

Result<std::unique_ptr<RecordGenerator>> MakeYsbGenerator(uint64_t seed, bool campaigns_table,
                                                          GeneratorOptions* options) {
  EDDY_ASSIGN_OR_RETURN(int64_t campaigns, options->Int("campaigns", 100, 1, kMaxAds));
  EDDY_ASSIGN_OR_RETURN(int64_t ads_per_campaign, options->Int("ads_per_campaign", 10, 1, kMaxAds));
  if (campaigns * ads_per_campaign > kMaxAds) {
    return Status::InvalidArgument("options 'campaigns' * 'ads_per_campaign' must be at most " +
                                   std::to_string(kMaxAds) + ", got " +
                                   std::to_string(campaigns * ads_per_campaign));
  }
  AdTable table = BuildAdTable(seed, campaigns, ads_per_campaign);
  if (campaigns_table)
    return std::unique_ptr<RecordGenerator>(std::make_unique<YsbCampaigns>(std::move(table)));
  return std::unique_ptr<RecordGenerator>(std::make_unique<YsbEvents>(seed, std::move(table)));
}

}  // namespace eddy::generator
