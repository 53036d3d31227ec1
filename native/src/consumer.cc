// NativeConsumer: construction, callbacks and the small control calls. The hot path is in fill.cc.
#include "consumer.h"

#include <algorithm>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <thread>

#include "partition_list.h"
#include "ring_frame.h"
#include "workers.h"

namespace kpe {

namespace {

// KPE_LIBRDKAFKA_LOG_FILE: librdkafka's lines go to this file instead, timestamped, every level. For
// diagnosis: stderr may be a non-blocking pipe, where a burst of debug lines can be dropped.
FILE* LogFile() {
  static FILE* file = [] {
    const char* path = std::getenv("KPE_LIBRDKAFKA_LOG_FILE");
    FILE* f = path && *path ? std::fopen(path, "a") : nullptr;
    if (f) std::setvbuf(f, nullptr, _IOLBF, 0);
    return f;
  }();
  return file;
}

void LogCb(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  (void)rk;
  if (FILE* f = LogFile()) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::fprintf(f, "%lld.%03lld %d %s: %s\n", static_cast<long long>(ms / 1000), static_cast<long long>(ms % 1000), level, fac, buf);
    return;
  }
  // librdkafka logs at its own pace from its own threads; only warnings and worse are worth a line, and
  // the debug lines a user asked for with kafka.config `debug` (librdkafka emits none otherwise).
  if (level <= 4) std::fprintf(stderr, "warn: librdkafka %s: %s\n", fac, buf);
  else if (level == 7) std::fprintf(stderr, "debug: librdkafka %s: %s\n", fac, buf);
}

}  // namespace

Napi::Object NativeConsumer::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = DefineClass(env, "NativeConsumer", {
      InstanceMethod("attachRing", &NativeConsumer::AttachRing),
      InstanceMethod("connect", &NativeConsumer::Connect),
      InstanceMethod("subscribe", &NativeConsumer::Subscribe),
      InstanceMethod("route", &NativeConsumer::SetRoute),
      InstanceMethod("accept", &NativeConsumer::Accept),
      InstanceMethod("registry", &NativeConsumer::SetRegistry),
      InstanceMethod("knownSchema", &NativeConsumer::KnownSchema),
      InstanceMethod("fill", &NativeConsumer::FillAsync),
      InstanceMethod("takeEvents", &NativeConsumer::TakeEvents),
      InstanceMethod("assign", &NativeConsumer::Assign),
      InstanceMethod("unassign", &NativeConsumer::Unassign),
      InstanceMethod("incrementalAssign", &NativeConsumer::IncrementalAssign),
      InstanceMethod("incrementalUnassign", &NativeConsumer::IncrementalUnassign),
      InstanceMethod("rebalanceProtocol", &NativeConsumer::RebalanceProtocol),
      InstanceMethod("commit", &NativeConsumer::Commit),
      InstanceMethod("commitAndWait", &NativeConsumer::CommitAndWait),
      InstanceMethod("committed", &NativeConsumer::Committed),
      InstanceMethod("watermarks", &NativeConsumer::Watermarks),
      InstanceMethod("position", &NativeConsumer::Position),
      InstanceMethod("highWatermarks", &NativeConsumer::HighWatermarks),
      InstanceMethod("groupState", &NativeConsumer::GroupState),
      InstanceMethod("seek", &NativeConsumer::Seek),
      InstanceMethod("pause", &NativeConsumer::Pause),
      InstanceMethod("resume", &NativeConsumer::Resume),
      InstanceMethod("close", &NativeConsumer::Close),
  });
  exports.Set("NativeConsumer", cls);
  exports.Set("librdkafkaVersion", rd_kafka_version_str());
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("FRAME_ALIGN", kFrameAlign);
  layout.Set("FRAME_HEADER_BYTES", kFrameHeaderBytes);
  layout.Set("F_PIPELINE", kFPipeline);
  layout.Set("F_TOPIC_ID", kFTopicId);
  layout.Set("F_PARTITION", kFPartition);
  layout.Set("F_KEY_LENGTH", kFKeyLength);
  layout.Set("F_VALUE_LENGTH", kFValueLength);
  layout.Set("F_HEADERS_LENGTH", kFHeadersLength);
  layout.Set("F_OFFSET", kFOffset);
  layout.Set("F_TIMESTAMP", kFTimestamp);
  exports.Set("layout", layout);
  return exports;
}

// new NativeConsumer({ 'librdkafka.property': 'value', ... })
NativeConsumer::NativeConsumer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeConsumer>(info) {
  Napi::Env env = info.Env();
  rd_kafka_conf_t* conf = ConfFrom(env, info[0]);
  char err[512];
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_rebalance_cb(conf, &NativeConsumer::RebalanceCb);
  rd_kafka_conf_set_error_cb(conf, &NativeConsumer::ErrorCb);
  rd_kafka_conf_set_offset_commit_cb(conf, &NativeConsumer::CommitCb);
  rd_kafka_conf_set_stats_cb(conf, &NativeConsumer::StatsCb);
  rd_kafka_conf_set_log_cb(conf, &LogCb);
  rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk_ == nullptr) throw Napi::Error::New(env, std::string("cannot create the Kafka consumer: ") + err);
  // Rebalance, error and commit callbacks are then served by the fill's consumer_poll.
  rd_kafka_poll_set_consumer(rk_);
  queue_ = rd_kafka_queue_get_consumer(rk_);
}

NativeConsumer::~NativeConsumer() {
  // A close still waiting for a coordinator when the process exits: leave the handle to the exit.
  if (close_running_.load()) return;
  Destroy();
}

void NativeConsumer::Destroy(int flags) {
  if (rk_ == nullptr) return;
  closing_ = true;
  for (size_t i = held_at_; i < held_.size(); i++) rd_kafka_message_destroy(held_[i]);
  held_.clear();
  held_at_ = 0;
  if (queue_ != nullptr) rd_kafka_queue_destroy(queue_);
  queue_ = nullptr;
  rd_kafka_destroy_flags(rk_, flags);
  rk_ = nullptr;
}

void NativeConsumer::CloseBlocking(bool leave_group) {
  closing_ = true;
  close_running_ = true;
  // Calls already on libuv threads still use rk_; each ends by its own timeout.
  while (calls_in_flight_.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (!leave_group) {
    // The cluster is gone or no longer the group's ([DR] failover): leaving the group would wait for a
    // coordinator that may never answer, holding a libuv thread (and the process's exit) meanwhile.
    Destroy(RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  } else {
    rd_kafka_consumer_close(rk_);
    Destroy();
  }
  close_running_ = false;
}

void NativeConsumer::CheckOpen(Napi::Env env) {
  if (rk_ == nullptr || closing_) throw Napi::Error::New(env, "the native consumer is closed");
}

void NativeConsumer::Push(Event&& e) {
  std::lock_guard<std::mutex> lock(events_mu_);
  events_.push_back(std::move(e));
  event_count_ = static_cast<uint32_t>(events_.size());
}

bool NativeConsumer::HasEvents() { return event_count_.load() > 0; }

std::string NativeConsumer::FinalError() {
  std::lock_guard<std::mutex> lock(events_mu_);
  for (const Event& e : events_) {
    if (e.kind != Event::kError) continue;
    if (e.fatal || e.code == RD_KAFKA_RESP_ERR__AUTHENTICATION || e.code == RD_KAFKA_RESP_ERR__SSL) return e.message;
  }
  return "";
}

// Runs inside consumer_poll on the fill thread. The assignment is not applied here: JS gets the event,
// prepares (routes, tracks, where to start) and then calls assign; a revoke is released by JS once the
// partitions' work in flight is durable. librdkafka waits for those calls. While closing there is no JS
// to ask, so the partitions are let go at once.
void NativeConsumer::RebalanceCb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, void* opaque) {
  auto* self = static_cast<NativeConsumer*>(opaque);
  bool cooperative = std::string(rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE";
  if (self->closing_ || (err != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS && err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)) {
    rd_kafka_error_t* e = nullptr;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      if (cooperative) e = rd_kafka_incremental_assign(rk, parts);
      else rd_kafka_assign(rk, parts);
    } else {
      if (cooperative) e = rd_kafka_incremental_unassign(rk, parts);
      else rd_kafka_assign(rk, nullptr);
    }
    if (e) rd_kafka_error_destroy(e);
    if (!self->closing_) {
      Event ev(Event::kError);
      ev.code = err;
      ev.message = std::string("rebalance failed: ") + rd_kafka_err2str(err);
      self->Push(std::move(ev));
    }
    return;
  }
  Event ev(err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? Event::kAssign : Event::kRevoke);
  ev.parts = CopyList(parts);
  ev.lost = ev.kind == Event::kRevoke && rd_kafka_assignment_lost(rk);
  self->Push(std::move(ev));
  rd_kafka_yield(rk);
}

void NativeConsumer::ErrorCb(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* self = static_cast<NativeConsumer*>(opaque);
  Event ev(Event::kError);
  ev.code = err;
  ev.message = reason;
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    rd_kafka_fatal_error(rk, buf, sizeof buf);
    ev.fatal = true;
    ev.message = buf;
  }
  self->Push(std::move(ev));
}

void NativeConsumer::CommitCb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets, void* opaque) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
  auto* self = static_cast<NativeConsumer*>(opaque);
  Event ev(Event::kError);
  ev.code = err;
  ev.message = std::string("offset commit failed: ") + rd_kafka_err2str(err);
  if (offsets) ev.parts = CopyList(offsets);
  self->Push(std::move(ev));
}

// Keeps only the statistics' "cgrp" object (librdkafka prints it flat: no nested braces). Returns 0: the
// JSON text is librdkafka's to free.
int NativeConsumer::StatsCb(rd_kafka_t*, char* json, size_t json_len, void* opaque) {
  auto* self = static_cast<NativeConsumer*>(opaque);
  std::string_view all(json, json_len);
  size_t at = all.rfind("\"cgrp\": {");
  if (at == std::string_view::npos) return 0;
  size_t open = all.find('{', at);
  size_t close = all.find('}', open);
  if (close == std::string_view::npos) return 0;
  std::lock_guard<std::mutex> lock(self->stats_mu_);
  self->group_state_.assign(all.substr(open, close - open + 1));
  return 0;
}

// groupState(): the "cgrp" object of the last statistics as JSON text, or null before the first.
Napi::Value NativeConsumer::GroupState(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(stats_mu_);
  if (group_state_.empty()) return info.Env().Null();
  return Napi::String::New(info.Env(), group_state_);
}

// attachRing(u8: Uint8Array over the ring's SharedArrayBuffer)
Napi::Value NativeConsumer::AttachRing(const Napi::CallbackInfo& info) {
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "attachRing needs a Uint8Array over the ring");
  Napi::Uint8Array u8 = info[0].As<Napi::Uint8Array>();
  ring_ref_ = Napi::Persistent(u8);
  ring_ = u8.Data();
  ring_len_ = u8.ByteLength();
  return info.Env().Undefined();
}

// connect(timeoutMs, cb(err)): waits for one metadata answer, so an unreachable broker is an error now.
// It asks in short steps and serves the error callback between them: a refused password or an untrusted
// certificate is reported at once instead of after the whole timeout (librdkafka would retry forever).
Napi::Value NativeConsumer::Connect(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env());
  int timeout = info[0].As<Napi::Number>().Int32Value();
  rd_kafka_t* rk = rk_;
  NativeConsumer* self = this;
  auto* w = new BlockingWorker(info[1].As<Napi::Function>(), Value(), [self, rk, timeout]() -> std::string {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout);
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      const rd_kafka_metadata_t* md = nullptr;
      rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, nullptr, &md, static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(left, 500))));
      if (!err) {
        rd_kafka_metadata_destroy(md);
        return "";
      }
      // Nothing is subscribed yet: this poll only serves callbacks (error_cb).
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 0);
      if (m) rd_kafka_message_destroy(m);
      std::string final_error = self->FinalError();
      if (!final_error.empty()) return final_error;
      if (left <= 500) return rd_kafka_err2str(err);
    }
  }, nullptr, &calls_in_flight_);
  w->Queue();
  return info.Env().Undefined();
}

Napi::Value NativeConsumer::Subscribe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  Napi::Array topics = info[0].As<Napi::Array>();
  PartList list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.Length())), &rd_kafka_topic_partition_list_destroy);
  for (uint32_t i = 0; i < topics.Length(); i++) {
    rd_kafka_topic_partition_list_add(list.get(), topics.Get(i).ToString().Utf8Value().c_str(), RD_KAFKA_PARTITION_UA);
  }
  ThrowIf(env, rd_kafka_subscribe(rk_, list.get()), "subscribe");
  return env.Undefined();
}

// route(topic, topicId, pipeline): frames of this topic carry these ids.
Napi::Value NativeConsumer::SetRoute(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(routes_mu_);
  Route& r = routes_[info[0].As<Napi::String>().Utf8Value()];
  r.topic_id = static_cast<uint16_t>(info[1].As<Napi::Number>().Uint32Value());
  r.pipeline = static_cast<uint16_t>(info[2].As<Napi::Number>().Uint32Value());
  return info.Env().Undefined();
}

// accept(topic, partition, yes): messages of a partition not accepted are dropped (it is being revoked).
Napi::Value NativeConsumer::Accept(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(routes_mu_);
  auto it = routes_.find(info[0].As<Napi::String>().Utf8Value());
  if (it == routes_.end()) throw Napi::Error::New(info.Env(), "accept: topic has no route");
  int32_t p = info[1].As<Napi::Number>().Int32Value();
  if (p < 0) throw Napi::RangeError::New(info.Env(), "accept: negative partition");
  if (static_cast<size_t>(p) >= it->second.accepted.size()) it->second.accepted.resize(p + 1, 0);
  it->second.accepted[p] = info[2].ToBoolean().Value() ? 1 : 0;
  return info.Env().Undefined();
}

// registry(pipeline, keys): this pipeline's records carry a schema-registry id that must be published
// first; with keys, so do the keys of its tombstones (upsert and cdc delete by them).
Napi::Value NativeConsumer::SetRegistry(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(routes_mu_);
  uint32_t p = info[0].As<Napi::Number>().Uint32Value();
  if (p >= registry_.size()) registry_.resize(p + 1, 0);
  registry_[p] = info.Length() > 1 && info[1].ToBoolean().Value() ? 2 : 1;
  return info.Env().Undefined();
}

Napi::Value NativeConsumer::KnownSchema(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(routes_mu_);
  uint64_t p = info[0].As<Napi::Number>().Uint32Value();
  uint32_t id = static_cast<uint32_t>(info[1].As<Napi::Number>().Int32Value());
  schemas_.insert((p << 32) | id);
  return info.Env().Undefined();
}

namespace {
class FillWorker : public Napi::AsyncWorker {
 public:
  FillWorker(Napi::Function cb, NativeConsumer* c, Napi::Object self, Napi::Float64Array out, uint32_t pos, uint32_t limit,
             uint32_t max, int timeout)
      : Napi::AsyncWorker(cb), c_(c), pos_(pos), limit_(limit), max_(max), timeout_(timeout) {
    self_ = Napi::Persistent(self);
    out_ref_ = Napi::Persistent(out);
    out_ = out.Data();
    out_len_ = static_cast<uint32_t>(out.ElementLength());
  }
  void Execute() override { c_->Fill(pos_, limit_, max_, timeout_, out_, out_len_); }
  void OnOK() override {
    c_->busy = false;
    Callback().Call({Env().Null()});
  }
  void OnError(const Napi::Error& e) override {
    c_->busy = false;
    Callback().Call({e.Value()});
  }

 private:
  NativeConsumer* c_;
  Napi::ObjectReference self_;
  Napi::Reference<Napi::Float64Array> out_ref_;
  double* out_;
  uint32_t out_len_;
  uint32_t pos_, limit_, max_;
  int timeout_;
};
}  // namespace

// fill(pos, limit, maxMessages, timeoutMs, out: Float64Array, cb(err)): see FillSlot for what `out` holds.
Napi::Value NativeConsumer::FillAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (ring_ == nullptr) throw Napi::Error::New(env, "fill: attachRing first");
  if (busy.exchange(true)) throw Napi::Error::New(env, "fill: a fill is already running");
  uint32_t pos = info[0].As<Napi::Number>().Uint32Value();
  uint32_t limit = info[1].As<Napi::Number>().Uint32Value();
  Napi::Float64Array out = info[4].As<Napi::Float64Array>();
  if (limit > ring_len_ || pos > limit || out.ElementLength() < kOutPart0 + 3) {
    busy = false;
    throw Napi::RangeError::New(env, "fill: [pos, limit) outside the ring, or `out` too small");
  }
  auto* w = new FillWorker(info[5].As<Napi::Function>(), this, Value(), out, pos, limit,
                           std::max<uint32_t>(1, info[2].As<Napi::Number>().Uint32Value()), info[3].As<Napi::Number>().Int32Value());
  w->Queue();
  return env.Undefined();
}

// takeEvents(): [{type: 'assign'|'revoke'|'error', partitions, lost, code, fatal, message}]
Napi::Value NativeConsumer::TakeEvents(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<Event> events;
  {
    std::lock_guard<std::mutex> lock(events_mu_);
    events.swap(events_);
    event_count_ = 0;
  }
  Napi::Array out = Napi::Array::New(env, events.size());
  for (size_t i = 0; i < events.size(); i++) {
    const Event& e = events[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("type", e.kind == Event::kAssign ? "assign" : e.kind == Event::kRevoke ? "revoke" : "error");
    Napi::Array parts = Napi::Array::New(env, e.parts.size());
    for (size_t j = 0; j < e.parts.size(); j++) {
      Napi::Object p = Napi::Object::New(env);
      p.Set("topic", e.parts[j].topic);
      p.Set("partition", e.parts[j].partition);
      p.Set("offset", static_cast<double>(e.parts[j].offset));
      parts.Set(j, p);
    }
    o.Set("partitions", parts);
    o.Set("lost", e.lost);
    o.Set("code", e.code);
    o.Set("fatal", e.fatal);
    o.Set("message", e.message);
    out.Set(i, o);
  }
  return out;
}

// close(cb(), leaveGroup = true): leaves the group (revoking at once, see RebalanceCb) and frees the
// client; leaveGroup false frees it without a word to the coordinator. No fill may run.
Napi::Value NativeConsumer::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Function cb = info[0].As<Napi::Function>();
  bool leave_group = info.Length() < 2 || !info[1].IsBoolean() || info[1].As<Napi::Boolean>().Value();
  if (rk_ == nullptr || closing_) {
    cb.Call({env.Null()});
    return env.Undefined();
  }
  if (busy) throw Napi::Error::New(env, "close: a fill is still running");
  closing_ = true;  // no new call may start; CloseBlocking waits for those running
  auto* w = new BlockingWorker(cb, Value(), [this, leave_group]() -> std::string {
    CloseBlocking(leave_group);
    return "";
  }, nullptr);
  w->Queue();
  return env.Undefined();
}

}  // namespace kpe

namespace kpe {
void InitProducer(Napi::Env env, Napi::Object exports);
}

// tuneMalloc(mmapThresholdBytes): true where the C library is glibc. glibc raises its mmap threshold each
// time a large block is freed (up to 32 MiB), after which the engine's chunk-sized buffers (decode
// outputs made in the workers, librdkafka's fetch responses) come from the threads' arenas, which keep
// the memory after free: RSS then grows with every burst and stays. A fixed threshold keeps such blocks
// mmap'ed, returned to the system on free. Set once, at start.
static Napi::Value TuneMalloc(const Napi::CallbackInfo& info) {
#ifdef __GLIBC__
  int threshold = info[0].As<Napi::Number>().Int32Value();
  return Napi::Boolean::New(info.Env(), mallopt(M_MMAP_THRESHOLD, threshold) == 1);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  exports.Set("tuneMalloc", Napi::Function::New(env, TuneMalloc));
  kpe::InitProducer(env, exports);
  return kpe::NativeConsumer::Init(env, exports);
}

NODE_API_MODULE(kpe_native, InitModule)
