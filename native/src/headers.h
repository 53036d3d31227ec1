// Kafka record headers in the ring's encoding (drawn in ring_frame.h and src/ring/headers.ts), written
// and read in this one place on the C++ side:
//
//   per header, one after another:  u16 nameLength | name | i32 valueLength (-1 = null) | value
//
// Every length is checked against the buffer it is read from; what cannot be written in this form (a name
// over 65,535 bytes, a block over 2 GiB) is refused, never cut.
#pragma once
#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "ring_frame.h"

namespace kpe {

// What HeadersBytes returns for headers that cannot be framed; the frame then says so (headersLength -1).
constexpr int64_t kHeadersUnframeable = -1;

// Encoded size of a message's headers, 0 when it has none, kHeadersUnframeable when they cannot be encoded.
inline int64_t HeadersBytes(rd_kafka_headers_t* hdrs) {
  if (hdrs == nullptr) return 0;
  int64_t n = 0;
  const char* name;
  const void* value;
  size_t size;
  for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
    size_t name_length = std::strlen(name);
    if (name_length > std::numeric_limits<uint16_t>::max()) return kHeadersUnframeable;
    n += 2 + static_cast<int64_t>(name_length) + 4 + (value ? static_cast<int64_t>(size) : 0);
    if (n > std::numeric_limits<int32_t>::max()) return kHeadersUnframeable;
  }
  return n;
}

// Writes exactly HeadersBytes(hdrs) bytes at p (the caller checked HeadersBytes > 0 and the room).
inline void WriteHeaders(uint8_t* p, rd_kafka_headers_t* hdrs) {
  const char* name;
  const void* value;
  size_t size;
  for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
    size_t name_length = std::strlen(name);
    Put<uint16_t>(p, static_cast<uint16_t>(name_length));
    std::memcpy(p + 2, name, name_length);
    p += 2 + name_length;
    Put<int32_t>(p, value ? static_cast<int32_t>(size) : -1);
    p += 4;
    if (value && size > 0) {
      std::memcpy(p, value, size);
      p += size;
    }
  }
}

// Reads a header block of `len` bytes into `out`. Returns "" or what is wrong with the block (nothing is
// read past `len`; a name may not hold a NUL byte, which librdkafka's header API cannot carry).
inline std::string ReadHeaders(const uint8_t* p, size_t len, rd_kafka_headers_t* out) {
  size_t at = 0;
  for (int index = 0; at < len; index++) {
    const std::string where = "header " + std::to_string(index) + " at byte " + std::to_string(at);
    if (len - at < 2) return where + ": the block ends inside the name length";
    uint16_t name_length;
    std::memcpy(&name_length, p + at, 2);
    at += 2;
    if (len - at < name_length) return where + ": a name of " + std::to_string(name_length) + " bytes runs past the block";
    if (std::memchr(p + at, 0, name_length) != nullptr) return where + ": the name holds a NUL byte";
    std::string name(reinterpret_cast<const char*>(p + at), name_length);
    at += name_length;
    if (len - at < 4) return where + ": the block ends inside the value length";
    int32_t value_length;
    std::memcpy(&value_length, p + at, 4);
    at += 4;
    if (value_length < -1) return where + ": value length " + std::to_string(value_length);
    if (value_length > 0 && len - at < static_cast<size_t>(value_length)) {
      return where + ": a value of " + std::to_string(value_length) + " bytes runs past the block";
    }
    rd_kafka_header_add(out, name.data(), static_cast<ssize_t>(name.size()), value_length < 0 ? nullptr : p + at,
                        value_length < 0 ? 0 : static_cast<size_t>(value_length));
    if (value_length > 0) at += static_cast<size_t>(value_length);
  }
  return "";
}

}  // namespace kpe
