// The ring frame as drawn in src/ring/layout.ts; the two must agree byte for byte. The test
// test/unit/native/native-addon.test.ts compares these constants with layout.ts and reads frames this
// code wrote with the workers' FrameReader.
//
//   offset  size  field
//   0       4     u32  frameBytes     whole frame incl. padding
//   4       2     u16  pipeline
//   6       2     u16  topicId
//   8       4     i32  partition
//   12      4     i32  keyLength      -1 = null key
//   16      4     i32  valueLength    -1 = null value (tombstone)
//   20      4     i32  headersLength  bytes of headers after the value, 0 = none, -1 = headers that
//                                     cannot be framed (headers.h): no bytes, the worker fails the record
//   24      8     i64  offset
//   32      8     i64  timestamp      ms since epoch, -1 if absent
//   40      k     key bytes, then value bytes, then headers, then 0-7 bytes of padding
//
// Headers, one entry after another: u16 nameLength, name, i32 valueLength (-1 = null), value.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the ring format is little-endian; this addon writes it with native stores"
#endif

namespace kpe {

constexpr uint32_t kFrameAlign = 8;
constexpr uint32_t kFrameHeaderBytes = 40;
constexpr uint32_t kFFrameBytes = 0;
constexpr uint32_t kFPipeline = 4;
constexpr uint32_t kFTopicId = 6;
constexpr uint32_t kFPartition = 8;
constexpr uint32_t kFKeyLength = 12;
constexpr uint32_t kFValueLength = 16;
constexpr uint32_t kFHeadersLength = 20;
constexpr uint32_t kFOffset = 24;
constexpr uint32_t kFTimestamp = 32;

inline uint64_t FrameBytes(int64_t key_length, int64_t value_length, int64_t headers_length) {
  uint64_t raw = kFrameHeaderBytes + (key_length > 0 ? key_length : 0) + (value_length > 0 ? value_length : 0) + headers_length;
  return (raw + kFrameAlign - 1) & ~static_cast<uint64_t>(kFrameAlign - 1);
}

template <typename T>
inline void Put(uint8_t* at, T v) {
  std::memcpy(at, &v, sizeof v);
}

// Writes one frame at `at` (headers not included: the caller appends `headers_length` bytes of them
// after the value, see HeadersAt); the caller has checked that `size` bytes fit.
inline uint8_t* WriteFrame(uint8_t* at, uint32_t size, uint16_t pipeline, uint16_t topic_id, int32_t partition,
                           const void* key, int32_t key_length, const void* value, int32_t value_length,
                           int32_t headers_length, int64_t offset, int64_t timestamp) {
  Put<uint32_t>(at + kFFrameBytes, size);
  Put<uint16_t>(at + kFPipeline, pipeline);
  Put<uint16_t>(at + kFTopicId, topic_id);
  Put<int32_t>(at + kFPartition, partition);
  Put<int32_t>(at + kFKeyLength, key_length);
  Put<int32_t>(at + kFValueLength, value_length);
  Put<int32_t>(at + kFHeadersLength, headers_length);
  Put<int64_t>(at + kFOffset, offset);
  Put<int64_t>(at + kFTimestamp, timestamp >= 0 ? timestamp : -1);
  uint8_t* p = at + kFrameHeaderBytes;
  if (key_length > 0) {
    std::memcpy(p, key, key_length);
    p += key_length;
  }
  if (value_length > 0) {
    std::memcpy(p, value, value_length);
    p += value_length;
  }
  return p;
}

}  // namespace kpe
