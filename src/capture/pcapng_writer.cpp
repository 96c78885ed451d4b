#include "capture/pcapng_writer.h"

#include <cerrno>
#include <cstring>

namespace tpk::capture {

namespace {

constexpr std::uint32_t kSectionHeader = 0x0A0D0D0A;
constexpr std::uint32_t kInterfaceDescription = 0x00000001;
constexpr std::uint32_t kEnhancedPacket = 0x00000006;
constexpr std::uint16_t kOptEnd = 0, kOptComment = 1, kShbUserAppl = 4, kIfName = 2, kIfTsresol = 9;

template <class T>
void put(std::string& b, T v) {
    char raw[sizeof(T)];
    std::memcpy(raw, &v, sizeof v);
    b.append(raw, sizeof raw);
}

void pad4(std::string& b) {
    while (b.size() % 4) b.push_back('\0');
}

void put_option(std::string& b, std::uint16_t code, std::string_view value) {
    put<std::uint16_t>(b, code);
    put<std::uint16_t>(b, static_cast<std::uint16_t>(value.size()));
    b.append(value);
    pad4(b);
}

// Block = type, total length, body, total length (repeated so readers can
// walk backwards).
std::string frame_block(std::uint32_t type, const std::string& body) {
    std::string b;
    const auto total = static_cast<std::uint32_t>(12 + body.size());
    put(b, type);
    put(b, total);
    b += body;
    put(b, total);
    return b;
}

}  // namespace

std::string pcapng_section_header(std::string_view application) {
    std::string body;
    put<std::uint32_t>(body, 0x1A2B3C4D);  // byte-order magic
    put<std::uint16_t>(body, 1);           // major
    put<std::uint16_t>(body, 0);           // minor
    put<std::int64_t>(body, -1);           // section length: not given
    if (!application.empty()) put_option(body, kShbUserAppl, application);
    put<std::uint32_t>(body, kOptEnd);
    return frame_block(kSectionHeader, body);
}

std::string pcapng_interface_block(const PcapngInterface& iface) {
    std::string body;
    put<std::uint16_t>(body, static_cast<std::uint16_t>(iface.link_type));
    put<std::uint16_t>(body, 0);
    put<std::uint32_t>(body, iface.snaplen);
    if (!iface.name.empty()) put_option(body, kIfName, iface.name);
    put_option(body, kIfTsresol, std::string_view("\x09", 1));  // 10^-9 s units
    put<std::uint32_t>(body, kOptEnd);
    return frame_block(kInterfaceDescription, body);
}

std::string pcapng_packet_block(std::int64_t sec, std::uint32_t nsec, std::span<const std::byte> data,
                                std::uint32_t wire_length, std::string_view comment) {
    std::string body;
    const std::uint64_t ts = static_cast<std::uint64_t>(sec) * 1'000'000'000ull + nsec;
    put<std::uint32_t>(body, 0);  // interface id
    put<std::uint32_t>(body, static_cast<std::uint32_t>(ts >> 32));
    put<std::uint32_t>(body, static_cast<std::uint32_t>(ts));
    put<std::uint32_t>(body, static_cast<std::uint32_t>(data.size()));
    put<std::uint32_t>(body, wire_length);
    body.append(reinterpret_cast<const char*>(data.data()), data.size());
    pad4(body);
    if (!comment.empty()) {
        // Option values are limited to 65535 bytes by their 16-bit length.
        put_option(body, kOptComment, comment.substr(0, 65532));
        put<std::uint32_t>(body, kOptEnd);
    }
    return frame_block(kEnhancedPacket, body);
}

Result<PcapngWriter> PcapngWriter::create(const std::string& path, const PcapngInterface& iface,
                                          std::string_view application, bool page_cache) {
    auto f = BlockFile::create(path, page_cache);
    if (!f) return std::move(f).take_error();
    PcapngWriter w(std::move(*f), path);
    const std::string head = pcapng_section_header(application) + pcapng_interface_block(iface);
    if (auto ok = w.file_.write(std::as_bytes(std::span(head))); !ok) return ok.error();
    return w;
}

Status PcapngWriter::write_packet(std::int64_t sec, std::uint32_t nsec, std::span<const std::byte> data,
                                  std::uint32_t wire_length, std::string_view comment) {
    if (!file_.is_open()) return make_error("write " + path_ + ": already closed");
    // Built in place (not via pcapng_packet_block) to avoid a copy per packet.
    block_.clear();
    const std::size_t padded = (data.size() + 3) & ~std::size_t{3};
    std::size_t options = 0;
    if (!comment.empty()) {
        comment = comment.substr(0, 65532);
        options = 4 + ((comment.size() + 3) & ~std::size_t{3}) + 4;
    }
    const auto total = static_cast<std::uint32_t>(12 + 20 + padded + options);
    const std::uint64_t ts = static_cast<std::uint64_t>(sec) * 1'000'000'000ull + nsec;
    put(block_, kEnhancedPacket);
    put(block_, total);
    put<std::uint32_t>(block_, 0);
    put<std::uint32_t>(block_, static_cast<std::uint32_t>(ts >> 32));
    put<std::uint32_t>(block_, static_cast<std::uint32_t>(ts));
    put<std::uint32_t>(block_, static_cast<std::uint32_t>(data.size()));
    put<std::uint32_t>(block_, wire_length);
    block_.append(reinterpret_cast<const char*>(data.data()), data.size());
    pad4(block_);
    if (!comment.empty()) {
        put_option(block_, kOptComment, comment);
        put<std::uint32_t>(block_, kOptEnd);
    }
    put(block_, total);
    return file_.write(std::as_bytes(std::span(block_)));
}

Status PcapngWriter::close() { return file_.close(); }

}  // namespace tpk::capture
