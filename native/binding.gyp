{
  # Links the librdkafka that node-rdkafka builds (node_modules/node-rdkafka/build/deps), so the process
  # holds one librdkafka whichever client loads first (same soname, librdkafka.so.1).
  "variables": {
    "rdkafka_deps": "<!(node -p \"require('path').join(require('path').dirname(require.resolve('node-rdkafka/package.json')), 'build', 'deps')\")",
    # 1: AddressSanitizer + UBSan (scripts/native-sanitize.sh builds it so, apart from the normal build).
    "sanitize%": 0
  },
  "targets": [
    {
      "target_name": "kpe_native",
      "sources": ["src/consumer.cc", "src/consumer_calls.cc", "src/fill.cc", "src/producer.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<(rdkafka_deps)/include"
      ],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-ignored-qualifiers"],
      "libraries": ["-L<(rdkafka_deps)", "-lrdkafka", "-Wl,-rpath,<(rdkafka_deps)"],
      "conditions": [
        ["sanitize==1", {
          "cflags_cc+": ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g", "-O1"],
          "ldflags+": ["-fsanitize=address,undefined"]
        }]
      ]
    }
  ]
}
