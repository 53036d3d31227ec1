// Topic-partition lists between JS ({topic, partition, offset?} objects) and librdkafka, and errors as
// JS exceptions: shared by the consumer's files.
#pragma once
#include <napi.h>
#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <vector>

#include "consumer.h"

namespace kpe {

using PartList = std::unique_ptr<rd_kafka_topic_partition_list_t, decltype(&rd_kafka_topic_partition_list_destroy)>;

// [{topic, partition, offset?}] → a librdkafka list (offset absent = RD_KAFKA_OFFSET_INVALID: use the stored one).
inline PartList ToList(Napi::Env env, Napi::Value v) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, "expected an array of {topic, partition, offset?}");
  Napi::Array a = v.As<Napi::Array>();
  PartList list(rd_kafka_topic_partition_list_new(static_cast<int>(a.Length())), &rd_kafka_topic_partition_list_destroy);
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Object o = a.Get(i).As<Napi::Object>();
    std::string topic = o.Get("topic").As<Napi::String>().Utf8Value();
    int32_t partition = o.Get("partition").As<Napi::Number>().Int32Value();
    rd_kafka_topic_partition_t* tp = rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition);
    Napi::Value off = o.Get("offset");
    tp->offset = off.IsNumber() ? off.As<Napi::Number>().Int64Value() : RD_KAFKA_OFFSET_INVALID;
  }
  return list;
}

inline Napi::Array FromList(Napi::Env env, const rd_kafka_topic_partition_list_t* list) {
  Napi::Array a = Napi::Array::New(env, list->cnt);
  for (int i = 0; i < list->cnt; i++) {
    const rd_kafka_topic_partition_t& tp = list->elems[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("topic", tp.topic);
    o.Set("partition", tp.partition);
    o.Set("offset", static_cast<double>(tp.offset));
    if (tp.err) o.Set("error", rd_kafka_err2str(tp.err));
    a.Set(i, o);
  }
  return a;
}

inline std::vector<PartitionRef> CopyList(const rd_kafka_topic_partition_list_t* list) {
  std::vector<PartitionRef> out;
  for (int i = 0; i < list->cnt; i++) out.push_back({list->elems[i].topic, list->elems[i].partition, list->elems[i].offset});
  return out;
}

// Takes ownership of an rd_kafka_error_t; throws its text.
inline void ThrowIf(Napi::Env env, rd_kafka_error_t* error, const char* what) {
  if (error == nullptr) return;
  std::string text = std::string(what) + ": " + rd_kafka_error_string(error);
  rd_kafka_error_destroy(error);
  throw Napi::Error::New(env, text);
}

inline void ThrowIf(Napi::Env env, rd_kafka_resp_err_t err, const char* what) {
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) throw Napi::Error::New(env, std::string(what) + ": " + rd_kafka_err2str(err));
}

}  // namespace kpe
