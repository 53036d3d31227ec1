// The hot path: librdkafka messages → ring frames, on a libuv worker thread, one call per batch.
// Per message: one route check (cached while the topic does not change), one copy of key and value
// into the ring, one rd_kafka_message_destroy. Nothing reaches JS but the counts in `out`.
#include "consumer.h"
#include "headers.h"
#include "ring_frame.h"

namespace kpe {

namespace {

struct PartCache {
  double* out;
  uint32_t capacity;
  uint32_t count = 0;
  int last = -1;
  const Route* last_route = nullptr;
  int32_t last_partition = -1;

  // Index of the entry for (route, partition), added if new; -1 when the table is full.
  int Slot(const Route* route, int32_t partition) {
    if (last >= 0 && route == last_route && partition == last_partition) return last;
    for (uint32_t i = 0; i < count; i++) {
      double* e = out + kOutPart0 + 3 * i;
      if (e[0] == route->topic_id && e[1] == partition) return Remember(route, partition, static_cast<int>(i));
    }
    if (count >= capacity) return -1;
    double* e = out + kOutPart0 + 3 * count;
    e[0] = route->topic_id;
    e[1] = partition;
    e[2] = -1;
    return Remember(route, partition, static_cast<int>(count++));
  }

  int Remember(const Route* route, int32_t partition, int slot) {
    last_route = route;
    last_partition = partition;
    last = slot;
    return slot;
  }
};

}  // namespace

void NativeConsumer::Fill(uint32_t pos, uint32_t limit, uint32_t max_messages, int timeout_ms, double* out, uint32_t out_len) {
  for (int i = 0; i < kOutPart0; i++) out[i] = 0;
  out[kOutHead] = pos;
  if (held_at_ >= held_.size()) {
    held_.clear();
    held_at_ = 0;
    // The first message may wait; the rest of the batch is what is already fetched. A rebalance served
    // inside the poll yields it (RebalanceCb), so JS sees assignments without waiting for the timeout.
    rd_kafka_message_t* first = rd_kafka_consumer_poll(rk_, timeout_ms);
    if (first != nullptr) {
      held_.push_back(first);
      if (max_messages > 1 && !HasEvents()) {
        scratch_.resize(max_messages - 1);
        ssize_t n = rd_kafka_consume_batch_queue(queue_, 0, scratch_.data(), scratch_.size());
        for (ssize_t i = 0; i < n; i++) held_.push_back(scratch_[i]);
      }
    }
  }
  int status = held_.empty() ? kIdle : kDone;
  uint32_t frames = 0;
  uint32_t dropped = 0;
  PartCache parts{out, (out_len - kOutPart0) / 3};
  {
    std::lock_guard<std::mutex> lock(routes_mu_);
    const rd_kafka_topic_t* last_rkt = nullptr;
    Route* route = nullptr;
    uint64_t last_schema = UINT64_MAX;
    while (held_at_ < held_.size()) {
      rd_kafka_message_t* m = held_[held_at_];
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          Event e(Event::kError);
          e.code = m->err;
          e.message = std::string(m->rkt ? rd_kafka_topic_name(m->rkt) : "?") + "[" + std::to_string(m->partition) +
                      "]: " + rd_kafka_message_errstr(m);
          Push(std::move(e));
        }
        rd_kafka_message_destroy(m);
        held_at_++;
        continue;
      }
      if (m->rkt != last_rkt) {
        auto it = routes_.find(rd_kafka_topic_name(m->rkt));
        route = it == routes_.end() ? nullptr : &it->second;
        last_rkt = m->rkt;
      }
      if (route == nullptr || m->partition < 0 || static_cast<size_t>(m->partition) >= route->accepted.size() ||
          !route->accepted[m->partition]) {
        rd_kafka_message_destroy(m);
        dropped++;
        held_at_++;
        continue;
      }
      const uint8_t* value = static_cast<const uint8_t*>(m->payload);
      int32_t value_length = value == nullptr ? -1 : static_cast<int32_t>(m->len);
      int32_t key_length = m->key == nullptr ? -1 : static_cast<int32_t>(m->key_len);
      // The schema the worker needs: the value's, or for a tombstone of a pipeline that deletes by key, the key's.
      uint8_t framing = route->pipeline < registry_.size() ? registry_[route->pipeline] : 0;
      const uint8_t* framed = value;
      int32_t framed_length = value_length;
      if (value == nullptr && framing == 2) {
        framed = static_cast<const uint8_t*>(m->key);
        framed_length = key_length;
      }
      if (framing && framed_length >= 5 && framed[0] == 0) {
        uint32_t id = (uint32_t(framed[1]) << 24) | (uint32_t(framed[2]) << 16) | (uint32_t(framed[3]) << 8) | framed[4];
        uint64_t k = (uint64_t(route->pipeline) << 32) | id;
        if (k != last_schema && schemas_.count(k) == 0) {
          status = kSchema;
          out[kOutSchemaPipeline] = route->pipeline;
          out[kOutSchemaId] = static_cast<int32_t>(id);
          break;
        }
        last_schema = k;
      }
      rd_kafka_headers_t* hdrs = nullptr;
      if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) hdrs = nullptr;
      // Headers that cannot be framed travel as headersLength -1 and no bytes: the worker makes the
      // record a record error (dead letter or skip, by policy) instead of writing it with cut headers.
      int64_t headers_length = HeadersBytes(hdrs);
      uint64_t size = FrameBytes(key_length, value_length, headers_length > 0 ? headers_length : 0);
      if (pos + size > limit) {
        status = kFull;
        out[kOutNeedBytes] = static_cast<double>(size);
        break;
      }
      int slot = parts.Slot(route, m->partition);
      if (slot < 0) break;  // more partitions in one batch than `out` holds: the rest goes next time
      uint8_t* after = WriteFrame(ring_ + pos, static_cast<uint32_t>(size), route->pipeline, route->topic_id, m->partition,
                                  m->key, key_length, value, value_length, static_cast<int32_t>(headers_length), m->offset,
                                  rd_kafka_message_timestamp(m, nullptr));
      if (headers_length > 0) WriteHeaders(after, hdrs);
      out[kOutPart0 + 3 * slot + 2] = static_cast<double>(m->offset);
      pos += static_cast<uint32_t>(size);
      frames++;
      rd_kafka_message_destroy(m);
      held_at_++;
    }
    if (held_at_ < held_.size()) {
      rd_kafka_message_t* m = held_[held_at_];
      auto it = m->rkt ? routes_.find(rd_kafka_topic_name(m->rkt)) : routes_.end();
      out[kOutHeldTopicId] = it == routes_.end() ? -1 : it->second.topic_id;
      out[kOutHeldPartition] = m->partition;
      out[kOutHeldOffset] = static_cast<double>(m->offset);
    }
  }
  out[kOutStatus] = status;
  out[kOutHead] = pos;
  out[kOutFrames] = frames;
  out[kOutDropped] = dropped;
  out[kOutParts] = parts.count;
  out[kOutEvents] = event_count_.load();
}

}  // namespace kpe
