#include "capture/session.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>

#include "capture/block_file.h"
#include "capture/pcapng_writer.h"
#include "decode/packet.h"

namespace tpk::capture {

namespace {

// Block mode (-w without --immediate-mode): the kernel hands over a
// partly filled block after this long. tcpdump uses 1 s; a stop waits for
// it, so shorter keeps Ctrl-C quick. Under load blocks fill long before.
constexpr int kWriteBlockTimeoutMs = 200;

// The kernel ring, when -B is not given. Writing a file, the ring is what
// rides out the moments the writer waits for a CPU: with full-size loopback
// frames (64 KiB, three to libpcap's 256 KiB block) 4 MiB holds ~1.5 ms of a
// 16 Gbit/s stream, less than a scheduler slice on a busy machine; 32 MiB
// holds ~12 ms. Printing is slower than the ring either way.
int default_buffer_kib(const SessionOptions& o) { return o.write_path.empty() ? 4096 : 32768; }

// Decodes and renders into one large buffer, written with one fwrite per
// 256 KiB: the text path costs one format pass per packet, no stdio per field.
class TextSink : public FrameSink {
public:
    TextSink(int link_type, const decode::TextOptions& options, std::FILE* out)
        : link_type_(link_type), renderer_(options), out_(out) {}

    Status on_frame(const RawFrame& f) override {
        decode::decode_frame(link_type_, f.data, f.wire_length, packet_);
        if (packet_.has_malformed) ++malformed_;
        if (!out_) return {};
        renderer_.render(packet_, f.sec, f.nsec, buffer_);
        if (buffer_.size() >= kFlushBytes) return flush();
        return {};
    }

    Status flush() override {
        if (!out_ || buffer_.size() == 0) return {};
        const std::size_t n = std::fwrite(buffer_.data(), 1, buffer_.size(), out_);
        buffer_.clear();
        if (n == 0 && std::ferror(out_)) return errno_error("write output");
        std::fflush(out_);
        return {};
    }

    std::uint64_t malformed() const { return malformed_; }

private:
    static constexpr std::size_t kFlushBytes = 256 * 1024;
    int link_type_;
    decode::TextRenderer renderer_;
    decode::Packet packet_;
    std::FILE* out_;
    fmt::memory_buffer buffer_;
    std::uint64_t malformed_ = 0;
};

// Classic pcap, as pcap_dump() writes it (libpcap writes the file header,
// with its link type and precision; each record is pcap_dump's: four 32-bit
// fields in host order, then the bytes), into a BlockFile.
class PcapSink : public FrameSink {
public:
    explicit PcapSink(BlockFile file) : file_(std::move(file)) {}
    Status on_frame(const RawFrame& f) override {
        const std::uint32_t h[4] = {static_cast<std::uint32_t>(f.sec),
                                    static_cast<std::uint32_t>(f.nsec),
                                    static_cast<std::uint32_t>(f.data.size()), f.wire_length};
        if (auto ok = file_.write(std::as_bytes(std::span(h))); !ok) return ok;
        return file_.write(f.data);
    }
    Status close() { return file_.close(); }

private:
    BlockFile file_;
};

// The pcap file header libpcap writes for this source (pcap_dump_fopen
// into memory): its link type and time stamp precision, as tcpdump's.
Result<std::string> pcap_file_header(pcap_t* handle) {
    char* bytes = nullptr;
    std::size_t size = 0;
    std::FILE* mem = open_memstream(&bytes, &size);
    if (!mem) return errno_error("pcap file header");
    pcap_dumper_t* d = pcap_dump_fopen(handle, mem);
    if (!d) {
        std::fclose(mem);
        std::free(bytes);
        return make_error(std::string("pcap file header: ") + pcap_geterr(handle));
    }
    pcap_dump_close(d);   // closes mem: bytes and size are final
    std::string header(bytes, size);
    std::free(bytes);
    return header;
}

class PcapngSink : public FrameSink {
public:
    explicit PcapngSink(PcapngWriter w) : writer_(std::move(w)) {}
    Status on_frame(const RawFrame& f) override {
        return writer_.write_packet(f.sec, f.nsec, f.data, f.wire_length);
    }
    Status close() { return writer_.close(); }

private:
    PcapngWriter writer_;
};

Result<Source> open_source(const SessionOptions& o) {
    if (!o.read_path.empty()) return Source::open_file(o.read_path);
    LiveOptions live;
    live.interface = o.interface;
    live.snaplen = o.snaplen;
    live.immediate = o.immediate;
    live.timeout_ms = kWriteBlockTimeoutMs;
    live.wait_for_block_on_stop = true;
    live.buffer_bytes = (o.buffer_kib > 0 ? o.buffer_kib : default_buffer_kib(o)) * 1024;
    // On lo every packet reaches the ring twice and libpcap throws the sent
    // copy away; not copying it halves the kernel's work per packet and the
    // ring space it takes. The frames delivered are the same.
    live.ignore_outgoing = is_loopback_interface(o.interface);
    live.link_type = o.link_type;
    return Source::open_live(live);
}

Result<SessionSummary> finish(Source& source, SessionSummary s) {
    s.live = source.is_live();
    s.packets = source.delivered();
    if (source.is_live()) {
        auto st = source.stats();
        if (!st) return std::move(st).take_error();
        s.stats = *st;
    }
    return s;
}

Status run_writer(Source& source, const SessionOptions& o, int stop_fd) {
    if (wants_pcapng(o.write_path)) {
        PcapngInterface iface;
        iface.link_type = source.link_type();
        iface.snaplen = static_cast<std::uint32_t>(source.snaplen());
        iface.name = source.is_live() ? source.name() : "";
        auto w = PcapngWriter::create(o.write_path, iface, "tracepacket", o.page_cache);
        if (!w) return std::move(w).take_error();
        PcapngSink sink(std::move(*w));
        Status s = source.run(sink, o.count, stop_fd);
        Status c = sink.close();
        return s ? c : s;
    }
    auto header = pcap_file_header(source.handle());
    if (!header) return std::move(header).take_error();
    auto file = BlockFile::create(o.write_path, o.page_cache);
    if (!file) return std::move(file).take_error();
    if (auto ok = file->write(std::as_bytes(std::span(*header))); !ok) return ok;
    PcapSink sink(std::move(*file));
    Status s = source.run(sink, o.count, stop_fd);
    Status c = sink.close();
    return s ? c : s;
}

}  // namespace

bool wants_pcapng(const std::string& path) {
    auto ends = [&](std::string_view suffix) {
        return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    return ends(".pcapng") || ends(".ntar");
}

Result<SessionSummary> run_session(const SessionOptions& o, std::FILE* out, int stop_fd,
                                   SessionSummary* partial) {
    auto source = open_source(o);
    if (!source) return std::move(source).take_error();
    if (!o.read_path.empty() && !decode::is_supported_link_type(source->link_type()) && o.write_path.empty()) {
        const char* name = pcap_datalink_val_to_name(source->link_type());
        return make_error(o.read_path + ": link type " + std::to_string(source->link_type()) + " (" +
                          (name ? name : "unknown") + ") is not decoded; supported: EN10MB, LINUX_SLL, "
                          "LINUX_SLL2, RAW, IPV4, IPV6, NULL, LOOP");
    }
    if (auto f = source->set_filter(o.filter); !f) return std::move(f).take_error();
    if (o.on_open) o.on_open(*source);

    SessionSummary summary;
    Status run;
    if (!o.write_path.empty()) {
        run = run_writer(*source, o, stop_fd);
    } else {
        TextSink sink(source->link_type(), o.text, out);
        run = source->run(sink, o.count, stop_fd);
        summary.malformed = sink.malformed();
    }
    if (!run) {
        if (partial) {
            partial->live = source->is_live();
            partial->packets = source->delivered();
        }
        return std::move(run).take_error();
    }
    return finish(*source, summary);
}

std::string describe_source(const Source& source) {
    const int dlt = source.link_type();
    const char* name = pcap_datalink_val_to_name(dlt);
    const char* description = pcap_datalink_val_to_description(dlt);
    return fmt::format("{} {}, link-type {} ({}), snapshot length {}", source.is_live() ? "listening on" : "reading from file",
                       source.name(), name ? name : std::to_string(dlt).c_str(),
                       description ? description : "unknown", source.snaplen()) +
           (source.is_live() ? " bytes" : "");
}

std::string format_summary(const SessionSummary& s) {
    if (!s.stats) return fmt::format("{} packet{} read\n", s.packets, s.packets == 1 ? "" : "s");
    const CaptureStats& st = *s.stats;
    std::string text = fmt::format("{} packets captured\n{} packets received by filter\n{} packets dropped by kernel\n",
                                   st.captured, st.received_by_filter, st.dropped_by_kernel);
    if (st.dropped_by_interface) text += fmt::format("{} packets dropped by interface\n", st.dropped_by_interface);
    return text;
}

}  // namespace tpk::capture
