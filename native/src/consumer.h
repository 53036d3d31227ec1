// NativeConsumer: one librdkafka KafkaConsumer whose messages go straight into the engine's shared ring
// (see ring_frame.h) without one JS object per message. JS sees it through src/source/native-binding.ts.
#pragma once
#include <napi.h>
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace kpe {

// Slots of the Float64Array a fill() reports into (mirrored in src/source/native-binding.ts).
enum FillSlot : int {
  kOutStatus = 0,         // FillStatus
  kOutHead = 1,           // ring position after the last frame written
  kOutFrames = 2,         // frames written
  kOutNeedBytes = 3,      // kFull: size of the frame that did not fit
  kOutSchemaPipeline = 4, // kSchema: the pipeline and writer-schema id the held message needs
  kOutSchemaId = 5,
  kOutEvents = 6,         // events waiting for takeEvents()
  kOutDropped = 7,        // messages of partitions not accepted (revoked since they were fetched)
  kOutHeldTopicId = 8,    // the held message (kFull / kSchema): topic id, partition, offset
  kOutHeldPartition = 9,
  kOutHeldOffset = 10,
  kOutParts = 11,         // per-partition entries that follow: topicId, partition, last offset
  kOutPart0 = 12,
};

enum FillStatus : int {
  kIdle = 0,    // nothing arrived within the timeout
  kDone = 1,    // every message taken was written (or dropped)
  kFull = 2,    // a message does not fit before `limit`; it is held for the next fill
  kSchema = 3,  // a message needs a writer schema JS has not published; it is held
};

struct Route {
  uint16_t topic_id = 0;
  uint16_t pipeline = 0;
  std::vector<uint8_t> accepted;  // by partition
};

struct PartitionRef {
  std::string topic;
  int32_t partition;
  int64_t offset;
};

struct Event {
  enum Kind { kAssign, kRevoke, kError };
  explicit Event(Kind k) : kind(k) {}
  Kind kind;
  std::vector<PartitionRef> parts;
  bool lost = false;
  int code = 0;
  bool fatal = false;
  std::string message;
};

class NativeConsumer : public Napi::ObjectWrap<NativeConsumer> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports);
  explicit NativeConsumer(const Napi::CallbackInfo& info);
  ~NativeConsumer() override;

  // Run on a libuv worker thread by FillWorker: moves messages into ring_[pos, limit).
  void Fill(uint32_t pos, uint32_t limit, uint32_t max_messages, int timeout_ms, double* out, uint32_t out_len);
  // Run on a libuv worker thread by CloseWorker.
  void CloseBlocking(bool leave_group);
  rd_kafka_t* handle() const { return rk_; }
  std::atomic<bool> busy{false};

 private:
  static void RebalanceCb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, void* opaque);
  static void ErrorCb(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  static void CommitCb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets, void* opaque);
  static int StatsCb(rd_kafka_t* rk, char* json, size_t json_len, void* opaque);
  void Push(Event&& e);
  bool HasEvents();
  // The reason of an error that no retry can fix (credentials, TLS, fatal), among the events so far; "" if none.
  std::string FinalError();

  Napi::Value AttachRing(const Napi::CallbackInfo& info);
  Napi::Value Connect(const Napi::CallbackInfo& info);
  Napi::Value Subscribe(const Napi::CallbackInfo& info);
  Napi::Value SetRoute(const Napi::CallbackInfo& info);
  Napi::Value Accept(const Napi::CallbackInfo& info);
  Napi::Value SetRegistry(const Napi::CallbackInfo& info);
  Napi::Value KnownSchema(const Napi::CallbackInfo& info);
  Napi::Value FillAsync(const Napi::CallbackInfo& info);
  Napi::Value TakeEvents(const Napi::CallbackInfo& info);
  Napi::Value Assign(const Napi::CallbackInfo& info);
  Napi::Value Unassign(const Napi::CallbackInfo& info);
  Napi::Value IncrementalAssign(const Napi::CallbackInfo& info);
  Napi::Value IncrementalUnassign(const Napi::CallbackInfo& info);
  Napi::Value RebalanceProtocol(const Napi::CallbackInfo& info);
  Napi::Value Commit(const Napi::CallbackInfo& info);
  Napi::Value CommitAndWait(const Napi::CallbackInfo& info);
  Napi::Value Committed(const Napi::CallbackInfo& info);
  Napi::Value Watermarks(const Napi::CallbackInfo& info);
  Napi::Value Position(const Napi::CallbackInfo& info);
  Napi::Value HighWatermarks(const Napi::CallbackInfo& info);
  Napi::Value GroupState(const Napi::CallbackInfo& info);
  Napi::Value Seek(const Napi::CallbackInfo& info);
  Napi::Value Pause(const Napi::CallbackInfo& info);
  Napi::Value Resume(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  void CheckOpen(Napi::Env env);
  void Destroy(int flags = 0);

  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* queue_ = nullptr;
  std::atomic<bool> closing_{false};
  // Calls running on libuv threads with rk_ (connect, committed, watermarks, commitAndWait): close waits for them.
  std::atomic<int> calls_in_flight_{0};
  // A close running on a libuv thread: the destructor (at process exit) must not destroy rk_ under it.
  std::atomic<bool> close_running_{false};

  Napi::Reference<Napi::Uint8Array> ring_ref_;
  uint8_t* ring_ = nullptr;
  size_t ring_len_ = 0;

  // Routes and schema knowledge: written by JS on the main thread, read by Fill on a worker thread.
  std::mutex routes_mu_;
  std::unordered_map<std::string, Route> routes_;
  std::vector<uint8_t> registry_;            // by pipeline: 1 records framed for a schema registry, 2 their tombstones' keys too
  std::unordered_set<uint64_t> schemas_;     // (pipeline << 32 | schema id) published to the workers

  // The "cgrp" object of librdkafka's last statistics (state, stateage, join_state, …): the watchdog's
  // view of the group. Written by StatsCb on the fill thread, read by JS.
  std::mutex stats_mu_;
  std::string group_state_;

  std::mutex events_mu_;
  std::vector<Event> events_;
  std::atomic<uint32_t> event_count_{0};

  // Messages taken from librdkafka but not yet written (the ring was full or a schema was missing).
  std::vector<rd_kafka_message_t*> held_;
  size_t held_at_ = 0;
  std::vector<rd_kafka_message_t*> scratch_;
};

}  // namespace kpe
