// libFuzzer target: the capture file reader (libpcap's pcap and pcapng
// parsers behind capture::Source) feeding the decoder and renderer, exactly
// the path of `tracepacket capture -r FILE`.
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "capture/source.h"
#include "decode/packet.h"
#include "decode/text.h"

namespace {

class RenderSink : public tpk::capture::FrameSink {
public:
    explicit RenderSink(int link) : link_(link), renderer_({.verbose = 1, .hex = 1}) {}
    tpk::Status on_frame(const tpk::capture::Frame& f) override {
        tpk::decode::decode_frame(link_, f.data, f.wire_length, packet_);
        renderer_.render(packet_, f.sec, f.nsec, out_);
        if (out_.size() > (1 << 20)) out_.clear();
        return {};
    }

private:
    int link_;
    tpk::decode::TextRenderer renderer_;
    tpk::decode::Packet packet_;
    fmt::memory_buffer out_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::FILE* f = fmemopen(const_cast<std::uint8_t*>(data), size, "rb");
    if (!f) return 0;
    auto source = tpk::capture::Source::open_stream(f, "fuzz input");
    if (!source) return 0;
    RenderSink sink(source->link_type());
    (void)source->run(sink, 10000, -1);
    return 0;
}
