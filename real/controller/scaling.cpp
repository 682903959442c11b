#include "real/controller/scaling.hpp"

#include <algorithm>
#include <cmath>

#include "real/worker/model_file.hpp"
#include "sim/simulation.hpp"

namespace fleetsim::real {

namespace {

ModelShape family_shape(int hidden) {
  ModelShape s;
  s.hidden = hidden;
  s.layers = std::max(1, static_cast<int>(std::lround(hidden / 128.0)));
  s.heads = hidden / 64;
  s.ffn = 4 * hidden;
  s.vocab = 8 * hidden;
  return s;
}

class ScaledTokens final : public RequestSource {
 public:
  ScaledTokens(std::unique_ptr<RequestSource> inner, double scale) : inner_(std::move(inner)), scale_(scale) {}
  bool next(Arrival& out, Diagnostics& errors) override {
    if (!inner_->next(out, errors)) return false;
    out.input_tokens = scale_token_count(out.input_tokens, scale_);
    out.output_tokens = scale_token_count(out.output_tokens, scale_);
    return true;
  }
  bool finite() const override { return inner_->finite(); }

 private:
  std::unique_ptr<RequestSource> inner_;
  double scale_;
};

}  // namespace

ModelShape shape_for(double parameters) {
  ModelShape best = family_shape(64);
  double best_distance = INFINITY;
  for (int hidden = 64; hidden <= 4096; hidden += 64) {
    const ModelShape s = family_shape(hidden);
    const double distance = std::abs(std::log(static_cast<double>(s.parameters()) / std::max(parameters, 1.0)));
    if (distance < best_distance) {  // ties: the smaller shape
      best = s;
      best_distance = distance;
    }
  }
  return best;
}

ModelScaling scale_models(const Scenario& scenario, double max_parameters) {
  ModelScaling out;
  double largest = 0;
  for (const ModelSpec& m : scenario.models) largest = std::max(largest, m.parameters);
  out.factor = largest > max_parameters ? largest / max_parameters : 1.0;
  for (std::size_t i = 0; i < scenario.models.size(); ++i) {
    ScaledModel m;
    m.name = scenario.models[i].name;
    m.parameters = scenario.models[i].parameters;
    m.shape = shape_for(m.parameters / out.factor);
    m.file = "m" + std::to_string(i) + ".bin";
    m.seed = i + 1;
    m.file_bytes = kModelFileHeader + 4 * m.shape.parameters();
    out.models.push_back(m);
  }
  return out;
}

std::uint32_t scale_token_count(std::uint32_t tokens, double token_scale) {
  if (token_scale == 1) return tokens;
  const double scaled = std::round(static_cast<double>(tokens) / token_scale);
  return scaled < 1 ? 1u : static_cast<std::uint32_t>(scaled);
}

void scale_tokens(SimulationSetup& setup, double token_scale) {
  if (token_scale == 1) return;
  for (auto* list : {&setup.sources, &setup.lookahead})
    for (auto& source : *list) source = std::make_unique<ScaledTokens>(std::move(source), token_scale);
}

}  // namespace fleetsim::real
