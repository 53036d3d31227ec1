// NativeConsumer: the group and position calls JS makes between fills (assignment, commits, offsets,
// seek, pause/resume). Each takes [{topic, partition, offset?}] lists (partition_list.h).
#include <memory>

#include "consumer.h"
#include "partition_list.h"
#include "workers.h"

namespace kpe {

Napi::Value NativeConsumer::Assign(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env());
  ThrowIf(info.Env(), rd_kafka_assign(rk_, ToList(info.Env(), info[0]).get()), "assign");
  return info.Env().Undefined();
}

Napi::Value NativeConsumer::Unassign(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env());
  ThrowIf(info.Env(), rd_kafka_assign(rk_, nullptr), "unassign");
  return info.Env().Undefined();
}

Napi::Value NativeConsumer::IncrementalAssign(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env());
  ThrowIf(info.Env(), rd_kafka_incremental_assign(rk_, ToList(info.Env(), info[0]).get()), "incremental assign");
  return info.Env().Undefined();
}

Napi::Value NativeConsumer::IncrementalUnassign(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env());
  ThrowIf(info.Env(), rd_kafka_incremental_unassign(rk_, ToList(info.Env(), info[0]).get()), "incremental unassign");
  return info.Env().Undefined();
}

Napi::Value NativeConsumer::RebalanceProtocol(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env());
  return Napi::String::New(info.Env(), rd_kafka_rebalance_protocol(rk_));
}

// commit(parts): offsets are the next offsets to read; the result comes to CommitCb.
Napi::Value NativeConsumer::Commit(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env());
  PartList list = ToList(info.Env(), info[0]);
  rd_kafka_resp_err_t err = rd_kafka_commit(rk_, list.get(), 1);
  if (err != RD_KAFKA_RESP_ERR__NO_OFFSET) ThrowIf(info.Env(), err, "commit");
  return info.Env().Undefined();
}

// commitAndWait(parts, cb(err)): a commit whose answer the caller waits for, on a libuv thread (the main
// thread never waits for a broker). One refused partition is a failed commit.
Napi::Value NativeConsumer::CommitAndWait(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env());
  auto list = std::make_shared<PartList>(ToList(info.Env(), info[0]));
  rd_kafka_t* rk = rk_;
  auto* w = new BlockingWorker(info[1].As<Napi::Function>(), Value(), [rk, list]() -> std::string {
    rd_kafka_topic_partition_list_t* l = list->get();
    rd_kafka_resp_err_t err = rd_kafka_commit(rk, l, 0);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) return rd_kafka_err2str(err);
    for (int i = 0; i < l->cnt; i++) {
      if (l->elems[i].err) return std::string("commit of ") + l->elems[i].topic + "[" + std::to_string(l->elems[i].partition) + "]: " + rd_kafka_err2str(l->elems[i].err);
    }
    return "";
  }, nullptr, &calls_in_flight_);
  w->Queue();
  return info.Env().Undefined();
}

// committed(parts, timeoutMs, cb(err, parts with offsets))
Napi::Value NativeConsumer::Committed(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env());
  auto list = std::make_shared<PartList>(ToList(info.Env(), info[0]));
  int timeout = info[1].As<Napi::Number>().Int32Value();
  rd_kafka_t* rk = rk_;
  auto* w = new BlockingWorker(info[2].As<Napi::Function>(), Value(), [rk, list, timeout]() -> std::string {
    rd_kafka_resp_err_t err = rd_kafka_committed(rk, list->get(), timeout);
    return err ? rd_kafka_err2str(err) : "";
  }, [list](Napi::Env env) -> Napi::Value { return FromList(env, list->get()); }, &calls_in_flight_);
  w->Queue();
  return info.Env().Undefined();
}

// watermarks(topic, partition, timeoutMs, cb(err, {low, high}))
Napi::Value NativeConsumer::Watermarks(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env());
  std::string topic = info[0].As<Napi::String>().Utf8Value();
  int32_t partition = info[1].As<Napi::Number>().Int32Value();
  int timeout = info[2].As<Napi::Number>().Int32Value();
  auto marks = std::make_shared<std::pair<int64_t, int64_t>>(-1, -1);
  rd_kafka_t* rk = rk_;
  auto* w = new BlockingWorker(info[3].As<Napi::Function>(), Value(), [rk, topic, partition, timeout, marks]() -> std::string {
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, &marks->first, &marks->second, timeout);
    return err ? rd_kafka_err2str(err) : "";
  }, [marks](Napi::Env env) -> Napi::Value {
    Napi::Object o = Napi::Object::New(env);
    o.Set("low", static_cast<double>(marks->first));
    o.Set("high", static_cast<double>(marks->second));
    return o;
  }, &calls_in_flight_);
  w->Queue();
  return info.Env().Undefined();
}

// position(parts): the next offset librdkafka hands out per partition (negative when unknown).
Napi::Value NativeConsumer::Position(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env());
  PartList list = ToList(info.Env(), info[0]);
  ThrowIf(info.Env(), rd_kafka_position(rk_, list.get()), "position");
  return FromList(info.Env(), list.get());
}

// highWatermarks(parts): the end offset per partition as last seen in a fetch response (-1 when unknown);
// never asks the broker, so it costs nothing and is safe to call on a timer.
Napi::Value NativeConsumer::HighWatermarks(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env());
  PartList list = ToList(info.Env(), info[0]);
  for (int i = 0; i < list->cnt; i++) {
    int64_t low = -1, high = -1;
    if (rd_kafka_get_watermark_offsets(rk_, list->elems[i].topic, list->elems[i].partition, &low, &high)) high = -1;
    list->elems[i].offset = high;
  }
  return FromList(info.Env(), list.get());
}

// seek(parts with offsets): moves assigned partitions (asynchronously; errors come back per partition).
// Only between fills (JS calls it when no fill is in flight): messages of those partitions still held from
// before are dropped, and librdkafka's version barrier drops the ones it had queued, so the next fill
// starts each partition at its new offset.
Napi::Value NativeConsumer::Seek(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env());
  PartList list = ToList(info.Env(), info[0]);
  ThrowIf(info.Env(), rd_kafka_seek_partitions(rk_, list.get(), 0), "seek");
  size_t kept = held_at_;
  for (size_t i = held_at_; i < held_.size(); i++) {
    rd_kafka_message_t* m = held_[i];
    bool moved = m->rkt != nullptr && rd_kafka_topic_partition_list_find(list.get(), rd_kafka_topic_name(m->rkt), m->partition) != nullptr;
    if (moved) rd_kafka_message_destroy(m);
    else held_[kept++] = m;
  }
  held_.resize(kept);
  return FromList(info.Env(), list.get());
}

Napi::Value NativeConsumer::Pause(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env());
  PartList list = ToList(info.Env(), info[0]);
  ThrowIf(info.Env(), rd_kafka_pause_partitions(rk_, list.get()), "pause");
  return info.Env().Undefined();
}

Napi::Value NativeConsumer::Resume(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env());
  PartList list = ToList(info.Env(), info[0]);
  ThrowIf(info.Env(), rd_kafka_resume_partitions(rk_, list.get()), "resume");
  return info.Env().Undefined();
}

}  // namespace kpe
