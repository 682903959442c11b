// RequestLog: every request of a run as one row of requests.csv — serial, model, outcome,
// arrival, first token, end, tokens, replica — so that two runs of one scenario (the simulator
// and real mode, `fleetsim validate-real`) can be paired request by request. It keeps the rows
// in memory (about 60 bytes a request), so it is attached to real-mode runs and their
// simulated twins, which are small, never to `fleetsim run`.
#pragma once
#include <string>
#include <vector>

#include "sim/diagnostics.hpp"
#include "sim/observer.hpp"
#include "sim/scenario.hpp"

namespace fleetsim {

class RequestLog : public SimObserver {
 public:
  explicit RequestLog(const Scenario& scenario) : scenario_(scenario) {}
  void on_request_end(const RequestResult& r) override { rows_.push_back(r); }
  // requests.csv, in serial order: serial,model,outcome,input_tokens,output_tokens,arrival_s,
  // first_token_s,end_s,replica (first_token_s empty when the request never got one; replica
  // empty when it never reached one).
  std::string csv() const;

 private:
  const Scenario& scenario_;
  std::vector<RequestResult> rows_;
};

// requests.csv read back.
struct RequestRow {
  std::uint64_t serial = 0;
  std::string model, outcome;
  double input_tokens = 0, output_tokens = 0;
  double arrival_s = 0, end_s = 0;
  double first_token_s = -1;  // < 0: none
};
std::vector<RequestRow> parse_requests_csv(const std::string& text, const std::string& file, Diagnostics& errors);

}  // namespace fleetsim
