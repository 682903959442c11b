#include "real/calibration/step_fit.hpp"

#include <Eigen/Dense>

#include <cmath>

namespace fleetsim::real {

namespace {

// The sample's coefficients of (1/F, 1/B, o).
Eigen::RowVector3d coefficients(const ModelFigures& m, const StepSample& s) {
  if (s.prefill) return {2 * m.parameters * s.tokens, 0, 1};
  return {2 * m.parameters * s.batch, m.weight_bytes + m.kv_bytes_per_token * s.context, 1};
}

}  // namespace

double predict(const StepFit& fit, const ModelFigures& model, const StepSample& s) {
  const Eigen::RowVector3d c = coefficients(model, s);
  const double per_flop = fit.flops > 0 ? 1 / fit.flops : 0;
  const double per_byte = fit.bandwidth > 0 ? 1 / fit.bandwidth : 0;
  return c(0) * per_flop + c(1) * per_byte + c(2) * fit.overhead_s;
}

StepFit fit_steps(const std::vector<StepSample>& samples, const ModelFigures& model) {
  StepFit fit;
  bool prefill = false, decode = false;
  for (const StepSample& s : samples) (s.prefill ? prefill : decode) = true;
  if (samples.size() < 3 || !prefill || !decode) {
    fit.problem = "need prefill and decode samples, at least three in all";
    return fit;
  }
  // Relative least squares: each row divided by its measurement, so short steps count as much
  // as long ones (the error reported is relative too).
  const auto n = static_cast<Eigen::Index>(samples.size());
  Eigen::MatrixXd a(n, 3);
  Eigen::VectorXd y = Eigen::VectorXd::Ones(n);
  for (Eigen::Index i = 0; i < n; ++i) a.row(i) = coefficients(model, samples[i]) / samples[i].seconds;
  // Scale the columns to comparable sizes before solving, then undo it.
  Eigen::Vector3d scale = a.colwise().norm().transpose();
  for (int j = 0; j < 3; ++j)
    if (scale(j) == 0) scale(j) = 1;
  Eigen::Vector3d x = (a * scale.cwiseInverse().asDiagonal()).colPivHouseholderQr().solve(y).cwiseQuotient(scale);
  // A negative term has no physical meaning: drop it and fit the others again.
  for (int pass = 0; pass < 3 && x.minCoeff() < 0; ++pass) {
    Eigen::Index worst;
    x.minCoeff(&worst);
    a.col(worst).setZero();
    scale(worst) = 1;
    x = (a * scale.cwiseInverse().asDiagonal()).colPivHouseholderQr().solve(y).cwiseQuotient(scale);
    x(worst) = 0;
  }
  fit.flops = x(0) > 0 ? 1 / x(0) : 0;
  fit.bandwidth = x(1) > 0 ? 1 / x(1) : 0;
  fit.overhead_s = std::max(0.0, x(2));
  int prefills = 0, decodes = 0;
  for (const StepSample& s : samples) {
    const double e = (predict(fit, model, s) - s.seconds) / s.seconds;
    fit.errors.push_back(e);
    (s.prefill ? fit.prefill_mape : fit.decode_mape) += std::abs(e);
    ++(s.prefill ? prefills : decodes);
  }
  fit.prefill_mape /= prefills;
  fit.decode_mape /= decodes;
  return fit;
}

}  // namespace fleetsim::real
