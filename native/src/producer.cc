// NativeProducer: a small librdkafka producer for the dead-letter path. node-rdkafka's producer writes
// header values as C strings (a NUL byte ends them); a dead-lettered record must go out byte for byte,
// headers included, so it is produced here. Rare traffic: one JS call per record is fine.
#include <napi.h>
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <mutex>
#include <string>
#include <vector>

#include "headers.h"
#include "workers.h"

namespace kpe {

namespace {

struct Report {
  double id;
  int code;
  std::string message;
};

class NativeProducer : public Napi::ObjectWrap<NativeProducer> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function cls = DefineClass(env, "NativeProducer", {
        InstanceMethod("produce", &NativeProducer::Produce),
        InstanceMethod("poll", &NativeProducer::Poll),
        InstanceMethod("close", &NativeProducer::Close),
    });
    exports.Set("NativeProducer", cls);
  }

  // new NativeProducer({ 'librdkafka.property': 'value', ... })
  explicit NativeProducer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeProducer>(info) {
    Napi::Env env = info.Env();
    rd_kafka_conf_t* conf = ConfFrom(env, info[0]);
    char err[512];
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_dr_msg_cb(conf, &NativeProducer::DeliveryCb);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk_ == nullptr) throw Napi::Error::New(env, std::string("cannot create the Kafka producer: ") + err);
  }

  ~NativeProducer() override {
    if (rk_ != nullptr) rd_kafka_destroy(rk_);
  }

 private:
  static void DeliveryCb(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<NativeProducer*>(opaque);
    double id = static_cast<double>(reinterpret_cast<uintptr_t>(m->_private));
    std::lock_guard<std::mutex> lock(self->mu_);
    self->reports_.push_back({id, m->err, m->err ? rd_kafka_err2str(m->err) : ""});
  }

  // produce(topic, partition (-1 = by key), key|null, value|null, timestampMs (-1 = now), headers|null, id)
  // headers in the ring's encoding (ring_frame.h). Throws when librdkafka refuses the message at once.
  Napi::Value Produce(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (rk_ == nullptr) throw Napi::Error::New(env, "the dead-letter producer is closed");
    std::string topic = info[0].As<Napi::String>().Utf8Value();
    int32_t partition = info[1].As<Napi::Number>().Int32Value();
    auto bytes = [](Napi::Value v, const uint8_t** data, size_t* len) {
      if (v.IsTypedArray()) {
        Napi::Uint8Array a = v.As<Napi::Uint8Array>();
        *data = a.Data();
        *len = a.ByteLength();
      } else {
        *data = nullptr;
        *len = 0;
      }
    };
    const uint8_t *key, *value, *hdr;
    size_t key_len, value_len, hdr_len;
    bytes(info[2], &key, &key_len);
    bytes(info[3], &value, &value_len);
    bytes(info[5], &hdr, &hdr_len);
    int64_t timestamp = info[4].As<Napi::Number>().Int64Value();
    uintptr_t id = static_cast<uintptr_t>(info[6].As<Napi::Number>().Int64Value());
    rd_kafka_headers_t* headers = rd_kafka_headers_new(8);
    std::string bad = hdr != nullptr ? ReadHeaders(hdr, hdr_len, headers) : "";
    if (!bad.empty()) {
      rd_kafka_headers_destroy(headers);
      throw Napi::Error::New(env, std::string("producing to ") + topic + ": malformed headers: " + bad);
    }
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(const_cast<uint8_t*>(key), key_len),
        RD_KAFKA_V_VALUE(const_cast<uint8_t*>(value), value_len), RD_KAFKA_V_TIMESTAMP(timestamp < 0 ? 0 : timestamp),
        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(id)), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_headers_destroy(headers);  // owned by the message only when producev succeeds
      throw Napi::Error::New(env, std::string("producing to ") + topic + ": " + rd_kafka_err2str(err));
    }
    return env.Undefined();
  }

  // poll(timeoutMs, cb(err, [{id, code, message}])): serves delivery reports off the main thread.
  Napi::Value Poll(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (rk_ == nullptr) throw Napi::Error::New(env, "the dead-letter producer is closed");
    int timeout = info[0].As<Napi::Number>().Int32Value();
    rd_kafka_t* rk = rk_;
    auto* w = new BlockingWorker(info[1].As<Napi::Function>(), Value(), [rk, timeout]() -> std::string {
      rd_kafka_poll(rk, timeout);
      return "";
    }, [this](Napi::Env e) -> Napi::Value {
      std::vector<Report> reports;
      {
        std::lock_guard<std::mutex> lock(mu_);
        reports.swap(reports_);
      }
      Napi::Array out = Napi::Array::New(e, reports.size());
      for (size_t i = 0; i < reports.size(); i++) {
        Napi::Object o = Napi::Object::New(e);
        o.Set("id", reports[i].id);
        o.Set("code", reports[i].code);
        o.Set("message", reports[i].message);
        out.Set(i, o);
      }
      return out;
    }, &calls_in_flight_);
    w->Queue();
    return env.Undefined();
  }

  // close(timeoutMs, cb()): flushes what is queued (delivery reports are served by flush), then frees.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Function cb = info[1].As<Napi::Function>();
    if (rk_ == nullptr) {
      cb.Call({env.Null()});
      return env.Undefined();
    }
    int timeout = info[0].As<Napi::Number>().Int32Value();
    rd_kafka_t* rk = rk_;
    rk_ = nullptr;
    std::atomic<int>* in_flight = &calls_in_flight_;
    auto* w = new BlockingWorker(cb, Value(), [rk, timeout, in_flight]() -> std::string {
      // A poll still running on another libuv thread uses rk: destroying it under that poll is a use after free.
      while (in_flight->load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      rd_kafka_flush(rk, timeout);
      rd_kafka_destroy(rk);
      return "";
    }, nullptr);
    w->Queue();
    return env.Undefined();
  }

  rd_kafka_t* rk_ = nullptr;
  // Polls running on libuv threads with rk_: close waits for them before it destroys the handle.
  std::atomic<int> calls_in_flight_{0};
  std::mutex mu_;
  std::vector<Report> reports_;
};

}  // namespace

void InitProducer(Napi::Env env, Napi::Object exports) { NativeProducer::Init(env, exports); }

}  // namespace kpe
