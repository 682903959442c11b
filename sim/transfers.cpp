#include "sim/transfers.hpp"

#include <algorithm>
#include <cmath>

namespace fleetsim {

namespace {
constexpr double kDoneBytes = 1e-3;  // below a thousandth of a byte left: finished
}

TransferNetwork::LinkId TransferNetwork::add_link(double bandwidth) {
  links_.push_back(Link{bandwidth});
  return static_cast<LinkId>(links_.size() - 1);
}

void TransferNetwork::touch(LinkId link) {
  if (links_[link].touched) return;
  links_[link].touched = true;
  touched_.push_back(link);
}

void TransferNetwork::clear_touched() {
  for (LinkId l : touched_) links_[l].touched = false;
  touched_.clear();
}

TransferNetwork::TransferId TransferNetwork::start(SimTime now, double bytes, double cap,
                                                   std::span<const LinkId> links, std::uint64_t owner) {
  progress(now);
  TransferId id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    id = static_cast<TransferId>(transfers_.size());
    transfers_.emplace_back();
  }
  Transfer& t = transfers_[id];
  t.remaining = bytes;
  t.cap = cap;
  t.rate = 0;
  t.links.assign(links.begin(), links.end());
  t.owner = owner;
  for (LinkId l : t.links) {
    ++links_[l].transfers;
    touch(l);
  }
  active_.push_back(id);
  allocate();
  return id;
}

double TransferNetwork::cancel(SimTime now, TransferId id) {
  progress(now);
  auto it = std::find(active_.begin(), active_.end(), id);
  if (it == active_.end()) return 0;
  for (LinkId l : transfers_[id].links) {
    --links_[l].transfers;
    touch(l);
  }
  active_.erase(it);
  free_.push_back(id);
  allocate();
  return std::max(0.0, transfers_[id].remaining);
}

void TransferNetwork::progress(SimTime now) {
  const double dt = to_seconds(now - time_);
  time_ = now;
  if (dt <= 0) return;
  for (TransferId id : active_) {
    Transfer& t = transfers_[id];
    const double moved = std::min(t.remaining, t.rate * dt);
    t.remaining -= moved;
    for (LinkId l : t.links) links_[l].moved += moved;
  }
}

// Progressive filling with per-transfer caps.
void TransferNetwork::allocate() {
  // Only the links of active transfers are read below: resetting those alone keeps a transfer's
  // start and end from costing a pass over every node's links.
  for (TransferId id : active_)
    for (LinkId l : transfers_[id].links) {
      links_[l].residual = links_[l].bandwidth;
      links_[l].unfrozen = 0;
    }
  for (TransferId id : active_) {
    Transfer& t = transfers_[id];
    t.frozen = false;
    t.rate = 0;
    for (LinkId l : t.links) ++links_[l].unfrozen;
  }
  std::size_t left = active_.size();
  while (left > 0) {
    // The next bottleneck: the smallest fair share any unfrozen transfer is held to.
    double level = kUnlimited;
    for (TransferId id : active_) {
      const Transfer& t = transfers_[id];
      if (t.frozen) continue;
      double share = t.cap;
      for (LinkId l : t.links) share = std::min(share, links_[l].residual / links_[l].unfrozen);
      level = std::min(level, share);
    }
    if (!std::isfinite(level)) level = 1e30;  // nothing limits it: effectively instant
    for (TransferId id : active_) {
      Transfer& t = transfers_[id];
      if (t.frozen) continue;
      double share = t.cap;
      for (LinkId l : t.links) share = std::min(share, links_[l].residual / links_[l].unfrozen);
      if (share > level * (1 + 1e-12) && std::isfinite(share)) continue;
      t.frozen = true;
      t.rate = std::min(level, share);
      --left;
      for (LinkId l : t.links) {
        links_[l].residual = std::max(0.0, links_[l].residual - level);
        --links_[l].unfrozen;
      }
    }
  }
}

SimTime TransferNetwork::next_completion() const {
  SimTime best = kNever;
  for (TransferId id : active_) {
    const Transfer& t = transfers_[id];
    if (t.rate <= 0) continue;
    const double ns = std::ceil(t.remaining / t.rate * 1e9);
    best = std::min(best, time_ + static_cast<SimTime>(std::max(0.0, ns)));
  }
  return best;
}

void TransferNetwork::complete_until(SimTime now, std::vector<std::uint64_t>& finished) {
  progress(now);
  bool changed = false;
  for (std::size_t i = 0; i < active_.size();) {
    Transfer& t = transfers_[active_[i]];
    if (t.remaining > kDoneBytes) {
      ++i;
      continue;
    }
    finished.push_back(t.owner);
    for (LinkId l : t.links) {
      --links_[l].transfers;
      touch(l);
    }
    free_.push_back(active_[i]);
    active_.erase(active_.begin() + static_cast<std::ptrdiff_t>(i));
    changed = true;
  }
  if (changed) allocate();
}

}  // namespace fleetsim
