// TransferNetwork: concurrent transfers (image pulls, weight loads) over shared links. Each
// transfer crosses a set of links (a node's network link, its disk, the cluster-wide model
// store...) and may have its own rate cap (e.g. the replica's host-to-device bandwidth).
// Rates are the max-min fair allocation (progressive filling / water-filling): all transfers
// grow at the same rate until a link saturates or a transfer reaches its cap, those are frozen,
// and the rest keep growing. They are recomputed whenever a transfer starts, ends or is
// cancelled; in between every transfer moves at a constant rate, so its completion time is
// exact and the simulator needs one event for the earliest completion only.
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
  std::size_t active() const { return active_.size(); }
  std::uint32_t transfers_on(LinkId link) const { return links_[link].transfers; }
  double bytes_moved(LinkId link) const { return links_[link].moved; }
  double bandwidth(LinkId link) const { return links_[link].bandwidth; }
  // The links whose transfers_on() changed since the last clear_touched(), each once: a reader
  // that mirrors the counts (the simulation's node views) updates those alone.
  std::span<const LinkId> touched() const { return touched_; }
  void clear_touched();

 private:
  struct Link {
    double bandwidth;
    double moved = 0;
    std::uint32_t transfers = 0;
    double residual = 0;  // scratch for the allocation
    std::uint32_t unfrozen = 0;
    bool touched = false;  // in touched_
  };
  struct Transfer {
    double remaining = 0;
    double cap = kUnlimited;
    double rate = 0;
    std::vector<LinkId> links;
    std::uint64_t owner = 0;
    bool frozen = false;
  };

  void progress(SimTime now);
  void allocate();
  void touch(LinkId link);

  std::vector<Link> links_;
  std::vector<Transfer> transfers_;
  std::vector<TransferId> active_;
  std::vector<TransferId> free_;
  std::vector<LinkId> touched_;
  SimTime time_ = 0;
};

}  // namespace fleetsim
