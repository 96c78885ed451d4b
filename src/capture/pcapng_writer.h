// A pcapng writer (libpcap 1.10 reads pcapng but only writes pcap). One
// section, one interface, Enhanced Packet Blocks with nanosecond stamps and an
// optional comment per packet (the journey's annotated capture uses that).
// Blocks are written in host byte order, which the byte-order magic declares
// (pcapng draft, section 4.1).
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>

#include "capture/block_file.h"
#include "util/result.h"

namespace tpk::capture {

struct PcapngInterface {
    int link_type = 1;           // LINKTYPE_ value (equal to DLT_ for the ones we use)
    std::uint32_t snaplen = 262144;
    std::string name;            // if_name, e.g. "lo"
};

class PcapngWriter {
public:
    // Creates path (truncating it) and writes the section and interface blocks.
    // page_cache: as BlockFile::create's.
    static Result<PcapngWriter> create(const std::string& path, const PcapngInterface& iface,
                                       std::string_view application = "tracepacket",
                                       bool page_cache = false);

    Status write_packet(std::int64_t sec, std::uint32_t nsec, std::span<const std::byte> data,
                        std::uint32_t wire_length, std::string_view comment = {});
    // Flushes and closes; the destructor closes too, but cannot report errors.
    Status close();

private:
    PcapngWriter(BlockFile f, std::string path) : file_(std::move(f)), path_(std::move(path)) {}

    BlockFile file_;   // large aligned writes, past the page cache where it can
    std::string path_;
    std::string block_;  // reused scratch for one block
};

// Serialises blocks into memory, for tests and the fuzz target.
std::string pcapng_section_header(std::string_view application);
std::string pcapng_interface_block(const PcapngInterface& iface);
std::string pcapng_packet_block(std::int64_t sec, std::uint32_t nsec, std::span<const std::byte> data,
                                std::uint32_t wire_length, std::string_view comment);

}  // namespace tpk::capture
