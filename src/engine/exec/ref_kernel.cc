#include "exec/kernel.h"

namespace pm::engine {

namespace {

class RefKernel final : public Kernel {
 public:
  explicit RefKernel(const Node& n) : node_(n), def_(find_op(n.op)) {}
  void run(const std::vector<const Tensor*>& in, std::vector<Tensor>& out) override {
    def_->ref(node_, in, out);
  }
  std::string implementation() const override { return "ref"; }
  std::string name() const override { return "ref:" + node_.op; }

 private:
  Node node_;
  const OpDef* def_;
};

}  // namespace

std::unique_ptr<Kernel> make_ref_kernel(const Node& n) { return std::make_unique<RefKernel>(n); }

}  // namespace pm::engine
