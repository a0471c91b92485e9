#include "h5_structure.h"

#include <set>
#include <string>
#include <vector>

#include "h5_file.h"
#include "h5_handle.h"
#include "pixelmill/error.h"

namespace pm::h5 {

namespace {

// A crafted header could claim more links than memory; the writers keep at most
// kMaxCompact in a group's object header (h5_file.h).
constexpr hsize_t kMaxLinks = kMaxCompact;
constexpr int kMaxDepth = 32;

struct Links {
  std::vector<std::string> hard;
  std::string other;  // the first soft or external link: pixelmill writes none
};

herr_t collect_name(hid_t, const char* name, const H5L_info_t* info, void* out) {
  Links& links = *static_cast<Links*>(out);
  if (info->type == H5L_TYPE_HARD)
    links.hard.emplace_back(name);
  else if (links.other.empty())
    links.other = name;
  return 0;
}

class Walk {
 public:
  explicit Walk(hid_t file) : file_(file) {}

  void object(const std::string& path, int depth) {
    if (depth > kMaxDepth) throw Error(path + ": nested deeper than " + std::to_string(kMaxDepth) + " groups");
    Handle obj = own(H5Oopen(file_, path.c_str(), H5P_DEFAULT), H5Oclose, path + ": opening");
    H5O_info_t info{};
    check(H5Oget_info2(obj.get(), &info, H5O_INFO_BASIC), path + ": reading its object header");
    if (!seen_.insert(info.addr).second) return;
    if (info.type != H5O_TYPE_GROUP) return;
    H5G_info_t g{};
    check(H5Gget_info(obj.get(), &g), path + ": reading its link storage");
    if (g.storage_type == H5G_STORAGE_TYPE_DENSE)
      throw Error(path + ": its links are in dense storage, which pixelmill does not write");
    if (g.storage_type != H5G_STORAGE_TYPE_COMPACT)
      throw Error(path + ": its links are in a symbol table (the older format)");
    if (g.nlinks > kMaxLinks) throw Error(path + ": " + std::to_string(g.nlinks) + " links");
    Links links;
    check(H5Literate(obj.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_name, &links), path + ": listing its links");
    // A soft or external link would let a reader's path lead elsewhere, even into a file
    // that was never checked.
    if (!links.other.empty()) throw Error(path + ": its link '" + links.other + "' is not a hard link");
    obj.reset();
    for (const std::string& name : links.hard) object(path == "/" ? "/" + name : path + "/" + name, depth + 1);
  }

 private:
  hid_t file_;
  std::set<haddr_t> seen_;
};

}  // namespace

void check_structure(hid_t file) { Walk(file).object("/", 0); }

}  // namespace pm::h5
