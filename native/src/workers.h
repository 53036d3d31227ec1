// The blocking librdkafka calls, each run on a libuv worker thread so the main thread never waits.
#pragma once
#include <functional>
#include <string>
#include "consumer.h"

namespace kpe {

// Runs `work` off the main thread; `work` returns "" or an error text. `done` builds the result value.
class BlockingWorker : public Napi::AsyncWorker {
 public:
  BlockingWorker(Napi::Function cb, Napi::Object keep, std::function<std::string()> work,
                 std::function<Napi::Value(Napi::Env)> done)
      : Napi::AsyncWorker(cb), work_(std::move(work)), done_(std::move(done)) {
    keep_ = Napi::Persistent(keep);
  }

  void Execute() override {
    std::string err = work_();
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
  Napi::ObjectReference keep_;
};

}  // namespace kpe
