// azure-llm-2023: the Azure LLM inference trace 2023 (Splitwise; AzurePublicDataset
// AzureLLMInferenceTrace_{code,conv}.csv): `TIMESTAMP,ContextTokens,GeneratedTokens`, TIMESTAMP an
// absolute datetime. Read as delimited text with these fixed columns (generic_csv.cpp).
#include "traces/importers/common.hpp"

namespace fleetsim::importers {

namespace {

class AzureLlm2023 final : public RequestFormat {
 public:
  // No model column: every request is "azure-llm" unless the user assigns models.
  ModelAssign default_assign(const ImportOptions&, std::string& fixed) const override {
    fixed = "azure-llm";
    return ModelAssign::Fixed;
  }
  void check_key(const ImportOptions& o, Diagnostics& errors) const override { no_key_column(o, errors); }
  bool read(Context& ctx, Pipeline& pipe) override {
    CsvSpec spec;
    spec.time_col = "TIMESTAMP";
    spec.input_col = "ContextTokens";
    spec.output_col = "GeneratedTokens";
    spec.iso = true;  // "2023-11-16 18:15:46.6805900"
    return read_delimited(ctx, pipe, spec);
  }
};

}  // namespace

std::unique_ptr<RequestFormat> make_azure_llm_2023() { return std::make_unique<AzureLlm2023>(); }

}  // namespace fleetsim::importers
