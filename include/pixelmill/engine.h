// The inference engine: ONNX file -> validated graph -> passes -> oneDNN primitives
// (or the plain C++ reference kernels). Depends on no MPI, HBase or HDF5.
//
// A Model is immutable after load and shared between threads; each thread that runs
// it owns a Session (execution context with its own buffers and compiled plans).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pixelmill/tensor.h"

namespace pm::engine {

// kInt8: the convolutions, Gemms and MatMuls of a QDQ model (QuantizeLinear/DequantizeLinear
// around them, as quantize_static writes them) run as oneDNN int8 convolutions and matmuls;
// everything else, and any model without Q/DQ, runs as in kF32.
enum class Precision : std::uint8_t { kF32, kBF16, kInt8 };

// How fp32 3x3 stride-1 convolutions are computed. kAuto takes oneDNN's Winograd
// F(4x4, 3x3) where it has one (about half the multiplies; relative error ~1e-6 against
// direct, measured in perf/engine), direct everywhere else. kDirect never uses Winograd.
enum class ConvAlgorithm : std::uint8_t { kAuto, kDirect };

struct EngineOptions {
  Precision precision = Precision::kF32;  // bf16 only where the CPU has AVX512_BF16/AMX
  bool reference = false;  // run every op on the plain C++ reference kernels (slow, exact oracle)
  int threads = 0;         // OpenMP threads for the kernels; 0 = leave the runtime default
  bool verbose = false;    // log each pass and each kernel choice (and why) to stderr
  ConvAlgorithm conv_algorithm = ConvAlgorithm::kAuto;
  // Rows of the batch run through the network at once. A memory-bound network (few MACs
  // per byte of activations, e.g. MobileNets) run on a batch too large for the cache is
  // run in chunks of rows whose activations fit it; results are the same rows in the
  // same order. 0 = chosen by the engine (only when the graph is provably row-local),
  // > 0 = at most this many rows per chunk (still only when row-local), < 0 = never split.
  int micro_batch = 0;
  // Replaces the declared shape of graph inputs (same rank; -1 = free), as ONNX Runtime's
  // free-dimension overrides do: for files exported with placeholder sizes (CenterFace
  // declares [10,3,32,32] and is meant to run at any multiple of 32).
  std::map<std::string, Dims> input_shapes;
};

struct ValueInfo {
  std::string name;
  DType dtype = DType::kF32;
  Dims shape;  // -1 for a dynamic dimension
};

struct ModelSummary {
  std::map<std::string, int> op_counts;  // after loading, before fusion
  std::int64_t parameters = 0;           // elements in initializers
  std::int64_t macs = -1;                // for the given input shapes; -1 if unknown
  int opset = 0;
};

// What a Session's plan chose for one node. Filled where the verbose log prints the
// choice, so tests and tools can ask which kernel ran instead of parsing the log.
enum class KernelBackend : std::uint8_t {
  kOneDnn,     // a oneDNN primitive
  kReference,  // the engine's plain C++ reference kernel (the oracle; slow)
  kView,       // no kernel: the output is a view of the input's buffer (Reshape, Flatten, ...)
};

struct KernelChoice {
  std::string node;  // the node's name, after the fusion passes
  std::string op;    // its op after the passes, e.g. "Conv", "pm.FusedConv", "pm.FusedConvDw"
  KernelBackend backend = KernelBackend::kReference;
  // kOneDnn: oneDNN's implementation name (primitive_desc::impl_info_str(), e.g.
  // "jit_wino_4x3:avx512_core"; "ref:any" is oneDNN's own slow reference kernel);
  // kReference: "ref"; kView: "view".
  std::string implementation;
  std::string why;  // kReference only: why oneDNN did not take the node ("reference mode", ...)
};

// How a Session ran its most recent batch.
struct PlanReport {
  // One entry per node of the plan, in execution order. The layout reorders the plan
  // inserts between kernels are not listed.
  std::vector<KernelChoice> kernels;
  std::int64_t chunk_rows = 0;  // rows per micro-batch chunk; 0 = the batch ran whole
  int workers = 1;              // chunks run side by side; 1 when the batch ran whole
  // Why the batch was or was not split (the verbose log's reason); empty when splitting
  // was not considered (a batch of one row, micro_batch < 0, inputs that give shapes).
  std::string split_why;
};

class Model {
 public:
  // Throws pm::Error with a clear message for a missing/malformed file, an unsupported
  // op (naming op and node) or an opset outside 9..18 (at 9 and 10, only the ops
  // whose meaning did not change by 11).
  static std::shared_ptr<const Model> load(const std::string& path, EngineOptions opts = {});
  // The same from a serialized model in memory (`base_dir` resolves external data, `what`
  // names it in messages): models made by a tool (pm::engine::QdqModel) without a file.
  static std::shared_ptr<const Model> load_bytes(const std::string& bytes, const std::string& base_dir,
                                                 const std::string& what, EngineOptions opts = {});
  virtual ~Model() = default;

  virtual const std::vector<ValueInfo>& inputs() const = 0;
  virtual const std::vector<ValueInfo>& outputs() const = 0;
  // MACs are computed for `input_shapes` (name -> concrete dims) when given.
  virtual ModelSummary summary(const std::map<std::string, Dims>& input_shapes = {}) const = 0;
  virtual const EngineOptions& options() const = 0;
};

class Session {
 public:
  explicit Session(std::shared_ptr<const Model> model);
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  // Inputs in graph-input order; returns the graph outputs in order. Plans are compiled
  // per distinct set of input shapes and cached. Throws pm::Error on a shape/dtype mismatch.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs);

  // The kernels and batch split of the most recent run() that returned. A batch run in
  // chunks reports the plan of its first chunk (the others differ at most in rows).
  // Throws pm::Error if no run() has returned yet. Copies; not for the hot path.
  PlanReport plan_report() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pm::engine
