#include "cli/sweep/emit.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <sstream>

namespace fleetsim {

namespace {

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./-=:,+@%") ==
                        std::string::npos)
    return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A DNS-1123 label: lowercase letters, digits and '-', at most 63 characters.
std::string dns_label(const std::string& s) {
  std::string out;
  for (char c : s) {
    const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9')) out += l;
    else if (!out.empty() && out.back() != '-') out += '-';
  }
  if (out.size() > 63) out.resize(63);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "fleetsim-sweep" : out;
}

std::string yaml_quote(const std::string& s) { return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }  // JSON strings are YAML

}  // namespace

std::string emit_slurm(const std::string& sweep_path, const std::string& out_dir, std::size_t shards,
                       const EmitOptions& options) {
  shards = std::max<std::size_t>(1, shards);
  const std::string n = std::to_string(shards);
  const std::string job = "fleetsim-" + options.name;
  std::ostringstream o;
  o << "#!/bin/bash\n";
  o << "#SBATCH --job-name=" << shell_quote(job) << "\n";
  o << "#SBATCH --array=0-" << shards - 1 << "\n";
  o << "#SBATCH --ntasks=1\n";
  o << "#SBATCH --cpus-per-task=" << std::max(1u, options.jobs_per_task) << "\n";
  o << "#SBATCH --output=" << shell_quote(job) << "-%A_%a.out\n";
  o << "#\n";
  o << "# fleetsim sweep " << sweep_path << ": " << n << " shards, one per array task (task i runs the\n";
  o << "# points p with p % " << n << " == i). Submit from the folder the paths are relative to:\n";
  o << "#   sbatch THIS_FILE        (FLEETSIM=/path/to/fleetsim sbatch THIS_FILE for another binary)\n";
  o << "# Tasks share " << out_dir << " (a shared file system); a rerun skips finished points. The task\n";
  o << "# that completes the sweep writes merged.csv; or merge once the array is done:\n";
  o << "#   sbatch --dependency=afterok:JOBID --wrap " << shell_quote(options.binary + " sweep merge " +
                                                                     shell_quote(sweep_path) + " --out " +
                                                                     shell_quote(out_dir))
    << "\n";
  o << "set -euo pipefail\n";
  o << "if [ -z \"${FLEETSIM:-}\" ]; then FLEETSIM=" << shell_quote(options.binary) << "; fi\n";
  o << "exec \"$FLEETSIM\" sweep " << shell_quote(sweep_path) << " --shard \"${SLURM_ARRAY_TASK_ID}/" << n
    << "\" --out " << shell_quote(out_dir) << " --jobs \"${SLURM_CPUS_PER_TASK:-1}\"\n";
  return o.str();
}

std::string emit_k8s(const std::string& sweep_path, const std::string& out_dir, std::size_t shards,
                     const EmitOptions& options) {
  shards = std::max<std::size_t>(1, shards);
  const std::string n = std::to_string(shards);
  const std::string name = dns_label("fleetsim-sweep-" + options.name);
  const unsigned cpus = std::max(1u, options.jobs_per_task);
  std::ostringstream o;
  o << "# fleetsim sweep " << sweep_path << " as a Kubernetes Indexed Job: " << n << " pods, pod i runs shard\n";
  o << "# i/" << n << " (the points p with p % " << n << " == i). kubectl apply -f THIS_FILE\n";
  o << "# Every pod must see the same " << out_dir << " (mount a shared ReadWriteMany volume there:\n";
  o << "# see volumeMounts/volumes below) and the sweep file and its base scenario, relative to the\n";
  o << "# container's working directory. The pod that completes the sweep writes merged.csv; or\n";
  o << "# merge afterwards: kubectl wait --for=condition=complete job/" << name << ", then run\n";
  o << "#   " << options.binary << " sweep merge " << sweep_path << " --out " << out_dir << "\n";
  o << "apiVersion: batch/v1\n";
  o << "kind: Job\n";
  o << "metadata:\n";
  o << "  name: " << name << "\n";
  o << "  labels: {app.kubernetes.io/name: fleetsim}\n";
  o << "spec:\n";
  o << "  completionMode: Indexed\n";
  o << "  completions: " << n << "\n";
  o << "  parallelism: " << n << "\n";
  o << "  backoffLimit: " << n << "\n";
  o << "  template:\n";
  o << "    metadata:\n";
  o << "      labels: {app.kubernetes.io/name: fleetsim}\n";
  o << "    spec:\n";
  o << "      restartPolicy: Never\n";
  o << "      containers:\n";
  o << "        - name: fleetsim\n";
  o << "          image: " << yaml_quote(options.image) << "\n";
  o << "          command: [" << yaml_quote(options.binary) << ", \"sweep\", " << yaml_quote(sweep_path)
    << ", \"--shard\", \"$(JOB_COMPLETION_INDEX)/" << n << "\", \"--out\", " << yaml_quote(out_dir)
    << ", \"--jobs\", \"" << cpus << "\"]\n";
  o << "          env:\n";
  o << "            # set by the Job controller for Indexed Jobs too; declared for $(...) expansion\n";
  o << "            - name: JOB_COMPLETION_INDEX\n";
  o << "              valueFrom:\n";
  o << "                fieldRef:\n";
  o << "                  fieldPath: metadata.annotations['batch.kubernetes.io/job-completion-index']\n";
  o << "          resources:\n";
  o << "            requests: {cpu: \"" << cpus << "\"}\n";
  o << "          # volumeMounts: [{name: sweeps, mountPath: /sweeps}]\n";
  o << "      # volumes: [{name: sweeps, persistentVolumeClaim: {claimName: fleetsim-sweeps}}]\n";
  return o.str();
}

}  // namespace fleetsim
