// bench_correlate: how fast tracepacket turns a recorded trace into JSON
// Lines, without the kernel (issue #14). The recording is read once (reading
// JSON is not what is measured); each iteration then does what `trace --json`
// does once tracing ends: the events handed to the correlator (copied, as the
// ring's records are converted), correlated, explained and written.
//
//   bench_correlate RECORDING [--benchmark_* flags]
//   RECORDING: `tracepacket trace --record-raw FILE -- COMMAND` (bench/journey-scale.sh
//   records one from bench_pingpong)
//
// Whole: one journey of the whole run (`trace --no-stream`, and a run that
// never went quiet). Correlate: its correlation alone; WriteJson: its JSON
// Lines alone. Streamed: cut every second of event time with the busy cut's
// 250 ms hold, as a trace under steady traffic is. Finish/N: every event
// still held when tracing ends, through JourneyStream::finish in cuts of N
// events, each written on a second thread while the next is correlated.
#include <benchmark/benchmark.h>
#include <fmt/core.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "journey/explain.h"
#include "journey/recording.h"
#include "journey/stream.h"
#include "report/json_lines.h"
#include "report/text.h"

namespace {

tpk::journey::CorrelatorInput recorded;

std::size_t packets_of(const tpk::journey::CorrelatorInput& in) {
    std::size_t n = 0;
    for (const auto& e : in.events) n += e.kind == tpk::model::EventKind::frame;
    return n;
}

// Where the JSON goes: /dev/null, written as to a file (the batches' write()s
// are measured, the file system is not).
std::ofstream null_file() { return std::ofstream("/dev/null", std::ios::binary); }

// Items are the recording's packets (its frames: one per packet on lo).
void count_packets(benchmark::State& state) {
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * packets_of(recorded)));
}

// The whole run at once, as `trace --no-stream` does it: the events copied
// (as the ring's records are converted), correlated, explained, and written
// by write(journey, out).
template <typename Write>
void whole(benchmark::State& state, Write write) {
    auto out = null_file();
    for (auto _ : state) {
        tpk::journey::CorrelatorInput input = recorded;
        auto j = tpk::journey::correlate(input);
        tpk::journey::explain(j);
        write(j, out);
    }
    count_packets(state);
}

void Whole(benchmark::State& state) {
    whole(state, [](const tpk::journey::Journey& j, std::ostream& out) {
        tpk::report::write_journey_json(j, out);
    });
}

// The correlator alone, the stage that bounds `trace` after a busy run (the
// writer runs on a thread of its own): the input's copy and the journey's
// destruction are not timed.
void Correlate(benchmark::State& state) {
    for (auto _ : state) {
        state.PauseTiming();
        std::optional<tpk::journey::CorrelatorInput> input = recorded;
        state.ResumeTiming();
        std::optional<tpk::journey::Journey> j = tpk::journey::correlate(*input);
        state.PauseTiming();
        benchmark::DoNotOptimize(j->packets.size());
        j.reset();
        input.reset();
        state.ResumeTiming();
    }
    count_packets(state);
}

// The JSON writer alone, on the journey correlated and explained once.
void WriteJson(benchmark::State& state) {
    auto j = tpk::journey::correlate(recorded);
    tpk::journey::explain(j);
    auto out = null_file();
    for (auto _ : state) tpk::report::write_journey_json(j, out);
    count_packets(state);
}

// The same as text (trace's default), with the explanations, uncoloured as
// written to a file.
void WholeText(benchmark::State& state) {
    whole(state, [](const tpk::journey::Journey& j, std::ostream& out) {
        tpk::report::write_journey_text(j, {}, out);
    });
}

// The recording through a JourneyStream: feed(stream, events, out) adds
// the events and cuts, writing each chunk; then the totals.
template <typename Feed>
void streamed(benchmark::State& state, Feed feed) {
    auto out = null_file();
    for (auto _ : state) {
        tpk::journey::CorrelatorInput setup = recorded;
        auto events = std::move(setup.events);
        setup.events.clear();
        tpk::journey::JourneyStream stream(std::move(setup));
        feed(stream, events, out);
        std::string tail;
        tpk::report::write_totals_json(stream.totals(0, 0), tail);
        out << tail;
    }
    count_packets(state);
}

void Streamed(benchmark::State& state) {
    constexpr std::uint64_t kCutNs = 1'000'000'000, kHoldNs = 250'000'000;
    streamed(state, [](tpk::journey::JourneyStream& stream, std::vector<tpk::model::Event>& events,
                       std::ostream& out) {
        auto write = [&](std::optional<tpk::journey::Journey> chunk) {
            if (chunk) tpk::report::write_chunk_json(*chunk, out);
        };
        std::uint64_t next_cut = events.empty() ? 0 : events.front().t_ns + kCutNs;
        for (auto& e : events) {
            if (e.t_ns >= next_cut) {
                write(stream.cut(false, kHoldNs));
                next_cut = e.t_ns + kCutNs;
            }
            stream.add(std::move(e));
        }
        write(stream.cut(true));
    });
}

// After a busy run: every event still waiting when tracing ends (the
// correlating thread got no CPU meanwhile), handed over by
// JourneyStream::finish in cuts of state.range(0) events.
void Finish(benchmark::State& state) {
    const auto every = static_cast<std::size_t>(state.range(0));
    streamed(state, [every](tpk::journey::JourneyStream& stream,
                            std::vector<tpk::model::Event>& events, std::ostream& out) {
        stream.add(std::move(events));
        stream.finish([&](tpk::journey::Journey&& chunk) {  // on a thread of its own
            tpk::report::write_chunk_json(chunk, out);
        }, every);
    });
}

BENCHMARK(Whole)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(Correlate)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(WriteJson)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(Streamed)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(WholeText)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(Finish)
    ->Arg(20'000)
    ->Arg(50'000)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (argc != 2) {
        fmt::print(stderr,
                   "usage: bench_correlate RECORDING [--benchmark_* flags]\n"
                   "RECORDING: tracepacket trace --record-raw FILE -- COMMAND\n");
        return 2;
    }
    auto rec = tpk::journey::read_recording(argv[1]);
    if (!rec) {
        fmt::print(stderr, "bench_correlate: {}\n", rec.error().message());
        return 1;
    }
    recorded = std::move(rec->input);
    fmt::print(stderr, "{}: {} events, {} frames\n", argv[1], recorded.events.size(),
               packets_of(recorded));
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
