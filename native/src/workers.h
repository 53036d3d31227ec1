// Helpers of both clients: the configuration, and the blocking librdkafka calls, each run on a libuv
// worker thread so the main thread never waits.
#pragma once
#include <atomic>
#include <functional>
#include <string>
#include "consumer.h"

namespace kpe {

// A librdkafka configuration from a JS object of property → value; throws naming the bad property.
inline rd_kafka_conf_t* ConfFrom(Napi::Env env, Napi::Value arg) {
  if (!arg.IsObject()) throw Napi::TypeError::New(env, "the librdkafka configuration must be an object");
  Napi::Object props = arg.As<Napi::Object>();
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  Napi::Array keys = props.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); i++) {
    std::string key = keys.Get(i).ToString().Utf8Value();
    std::string value = props.Get(key).ToString().Utf8Value();
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw Napi::Error::New(env, "librdkafka setting " + key + "=" + value + ": " + err);
    }
  }
  return conf;
}

// Runs `work` off the main thread; `work` returns "" or an error text. `done` builds the result value.
// `in_flight` (optional) counts the calls between queueing and the end of `work`: a client's close waits
// for it to reach 0 before it frees the librdkafka handle those calls use.
class BlockingWorker : public Napi::AsyncWorker {
 public:
  BlockingWorker(Napi::Function cb, Napi::Object keep, std::function<std::string()> work,
                 std::function<Napi::Value(Napi::Env)> done, std::atomic<int>* in_flight = nullptr)
      : Napi::AsyncWorker(cb), work_(std::move(work)), done_(std::move(done)), in_flight_(in_flight) {
    keep_ = Napi::Persistent(keep);
    if (in_flight_) in_flight_->fetch_add(1);
  }

  void Execute() override {
    std::string err = work_();
    if (in_flight_) in_flight_->fetch_sub(1);
    if (!err.empty()) SetError(err);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Value result = done_ ? done_(env) : env.Undefined();
    Callback().Call({env.Null(), result});
  }

 private:
  std::function<std::string()> work_;
  std::function<Napi::Value(Napi::Env)> done_;
  std::atomic<int>* in_flight_;
  Napi::ObjectReference keep_;
};

}  // namespace kpe
