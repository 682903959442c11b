// TransferNetwork: concurrent transfers (image pulls, weight loads) over shared links. Each
// transfer crosses a set of links (a node's network link, its disk, the cluster-wide model
// store...) and may have its own rate cap (e.g. the replica's host-to-device bandwidth).
// Rates are the max-min fair allocation (progressive filling / water-filling): all transfers
// grow at the same rate until a link saturates or a transfer reaches its cap, those are frozen,
// and the rest keep growing. In between starts, ends and cancellations every transfer moves at
// a constant rate, so its completion time is exact and the simulator needs one event for the
// earliest completion only.
//
// Only what a start, end or cancellation can change is recomputed: the transfer's component,
// the transfers joined to it through limited (finite) links, directly or via other transfers.
// Why that is exact: progressive filling on one component depends only on its transfers and
// their limited links, so nothing outside it can change its rates, nor can it change theirs.
// An unlimited link limits nobody and joins nothing: with the model store unlimited, each
// node's transfers are a component of their own; a limited store joins every load from it
// into one, and a change there is recomputed for all of them, as it must be. When a transfer
// ends its component may fall apart: each piece around its links is recomputed alone.
//
// Within a component the filling visits the transfers in the order they started, the order the
// whole-network sweep this replaced used, so the rates are bit for bit the sweep's, with two
// exceptions by design, both from the sweep taking each round's level over the whole network:
// it froze another component's transfer whose share was within 1e-12 of that level at the level
// (not at its own share), and it gave a transfer that nothing limits (no cap, unlimited links
// only; a scenario cannot make one, node links are always limited) that level instead of
// "instant". Neither changes any shipped scenario's output (compared byte for byte);
// tests/test_transfers.cpp checks the incremental rates against a from-scratch allocation on
// random networks, and against the sweep where the bandwidths are generic.
//
// Cost of a start or end: its component's transfers and links, not every link in the cluster,
// and a push on the completion heap per transfer whose rate changed. Between rate changes a
// transfer's bytes are not stepped: each keeps its bytes left as of its last rate change, and
// its completion time, computed then, waits in a heap (stale entries are skipped when they come
// up). So the next completion is the heap's top, and neither finding it nor a start, end or
// cancel visits the transfers outside the component (at a fleet's mass cold start, thousands).
// The bytes a link has moved are added when a transfer's rate changes or it ends;
// settle_all() brings every transfer up to the network's clock for a report. Against stepping
// every transfer's bytes at each change, as this did before, bytes differ by rounding and
// completion times by a nanosecond at most (tests/test_transfers.cpp checks both); a transfer
// is done at the first nanosecond it has under a thousandth of a byte left, as before.
#pragma once
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "sim/time.hpp"

namespace fleetsim {

class TransferNetwork {
 public:
  using LinkId = std::uint32_t;
  using TransferId = std::uint32_t;
  static constexpr double kUnlimited = std::numeric_limits<double>::infinity();
  static constexpr TransferId kNone = std::numeric_limits<TransferId>::max();

  LinkId add_link(double bandwidth);  // bytes/s; kUnlimited for no limit

  // Starts moving `bytes` at `now`; `owner` is returned when it finishes.
  TransferId start(SimTime now, double bytes, double cap, std::span<const LinkId> links, std::uint64_t owner);
  // Stops it; returns the bytes it had left (0 for one not active).
  double cancel(SimTime now, TransferId id);

  // The time the next transfer finishes (kNever when none is active). Rounded up to the
  // nanosecond, so at that time the transfer has really finished.
  SimTime next_completion() const;
  // Brings every transfer up to `now` and appends the owners of those that finished.
  void complete_until(SimTime now, std::vector<std::uint64_t>& finished);

  double rate(TransferId id) const { return transfers_[id].rate; }
  // Bytes left at the network's clock (the time of its last start, end or cancel).
  double remaining(TransferId id) const;
  std::size_t active() const { return active_.size(); }
  std::uint32_t transfers_on(LinkId link) const { return links_[link].transfers; }
  // Bytes the link carried for transfers that ended or changed rate; after settle_all(), all of
  // them up to the network's clock.
  double bytes_moved(LinkId link) const { return links_[link].moved; }
  void settle_all();
  double bandwidth(LinkId link) const { return links_[link].bandwidth; }
  // The links whose transfers_on() changed since the last clear_touched(), each once: a reader
  // that mirrors the counts (the simulation's node views) updates those alone.
  std::span<const LinkId> touched() const { return touched_; }
  void clear_touched();

  // Recomputes every active transfer's rate from scratch, component by component: what start,
  // end and cancel would give if they recomputed everything. For tests (the reference the
  // incremental recomputation is checked against) and nothing else.
  void reallocate_all();
  // How many transfers the recomputations have visited so far (a cost counter for tests).
  std::uint64_t transfers_recomputed() const { return transfers_recomputed_; }

 private:
  struct Link {
    double bandwidth = 0;
    bool limited = false;  // finite bandwidth: it couples the transfers crossing it
    double moved = 0;
    std::uint32_t transfers = 0;
    std::vector<TransferId> crossing;  // active transfers on a limited link, in no order
    double residual = 0;  // scratch for the allocation
    std::uint32_t unfrozen = 0;
    std::uint32_t mark = 0;  // visited in the current component search
    bool touched = false;  // in touched_
  };
  struct Transfer {
    double remaining = 0;  // bytes left at `since`
    double cap = kUnlimited;
    double rate = 0;
    double old_rate = 0;  // scratch for the allocation: the rate before it
    SimTime since = 0;    // when `remaining` was brought up to date (its start or last rate change)
    SimTime done_at = kNever;
    std::vector<LinkId> links;
    std::uint64_t owner = 0;
    std::uint64_t order = 0;  // start order: the order the filling visits a component in
    std::uint32_t mark = 0;
    std::uint32_t version = 0;   // changes with done_at and at the end: heap entries of older ones are stale
    std::uint32_t position = 0;  // in active_
    bool frozen = false;
  };
  struct Completion {  // a heap entry: `id` finishes `at`, unless its version moved on
    SimTime at;
    std::uint64_t order;
    TransferId id;
    std::uint32_t version;
  };

  void progress(SimTime now);
  void settle(Transfer& t, double rate);  // moves its bytes at `rate` from `since` to time_
  void schedule_completion(TransferId id);
  void drop_stale_completions();
  void remove_active(TransferId id);
  void attach(TransferId id);
  void detach(TransferId id);
  // Recomputes the components around the given links (limited ones) and transfers (active).
  void reallocate_around(std::span<const LinkId> links, std::span<const TransferId> transfers);
  void gather(std::vector<LinkId>& stack);
  void allocate();
  void touch(LinkId link);

  std::vector<Link> links_;
  std::vector<Transfer> transfers_;
  std::vector<TransferId> active_;  // in no order
  std::vector<Completion> completions_;  // min-heap on (at, order)
  std::vector<TransferId> free_;
  std::vector<LinkId> touched_;
  SimTime time_ = 0;
  std::uint64_t next_order_ = 0;
  std::uint32_t mark_ = 0;
  std::vector<TransferId> component_;  // scratch
  std::vector<LinkId> stack_, seeds_;  // scratch
  std::uint64_t transfers_recomputed_ = 0;
};

}  // namespace fleetsim
