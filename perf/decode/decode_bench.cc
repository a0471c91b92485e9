// pm_decode_bench: pm::decode_image + pm::preprocess_into (one image into one slot of the
// model's batch tensor) against the plain OpenCV peer, cv::imdecode + cv::resize(INTER_AREA),
// for a few photo sizes, single thread (cv::setNumThreads(1)). The usual rules: warm-up,
// median of --runs runs (alternating the two sides) with min and max, figure, peer
// figure, ratio.
//
//   pm_decode_bench [--card models/sscd_distilled.json] [--runs 5] [--min-seconds 0.25]
//                   [--synth SRC] [--sizes 2048x1536,4032x3024] [FILE...]
//
// Each FILE is measured as it is. With --synth, SRC is resized (INTER_CUBIC) to each of
// --sizes and re-encoded as JPEG quality 90 in memory: large photos without shipping any.
// Upscaled photos hold less detail than real ones of that size, so their entropy decode
// is a little cheaper; the real files are the honest figures, the synthetic ones show
// how the costs grow with size.
//
// Rows per image: "full" decodes at full size (DecodeOptions::reduced_decode = false,
// the peer cv::IMREAD_COLOR); "reduced" lets pixelmill pick the DCT reduction for the
// card's input (1/2, 1/4, 1/8) and gives the peer the same IMREAD_REDUCED_COLOR_k, so
// the ratio compares the code around libjpeg, not the reduction. Mpx/s counts the
// photo's full pixel count, so reduced rows show the speed-up in the same unit.
// Both sides read the encoded bytes from memory (no file I/O). pixelmill's side also
// converts BGR -> RGB and writes the card's tensor layout; the peer stops at the resized
// BGR image: the peer is what a user would write, and the conversion is part of our job.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "pixelmill/decode.h"
#include "pixelmill/error.h"
#include "pixelmill/model_card.h"
#include "pixelmill/preprocess.h"

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Photo {
  std::string name;
  std::string bytes;
  int width = 0;
  int height = 0;
};

struct Stats {
  double median = 0, min = 0, max = 0;  // images per second
};

int calibrate(const std::function<void()>& fn, double min_seconds) {
  int iters = 0;
  const double t0 = now();
  do {
    fn();
    ++iters;
  } while (now() - t0 < min_seconds);
  return iters;
}

Stats summarize(std::vector<double> rates) {
  std::sort(rates.begin(), rates.end());
  return {rates[rates.size() / 2], rates.front(), rates.back()};
}

// Warm-up of both sides (which also fixes each side's iteration count: at least
// min_seconds per run), then `runs` runs alternating a and b, so that a noisy neighbour
// slows both alike; img/s statistics of each.
std::pair<Stats, Stats> measure_pair(const std::function<void()>& a,
                                     const std::function<void()>& b, int runs,
                                     double min_seconds) {
  const int ia = calibrate(a, min_seconds), ib = calibrate(b, min_seconds);
  std::vector<double> ra, rb;
  for (int r = 0; r < runs; ++r) {
    double s = now();
    for (int i = 0; i < ia; ++i) a();
    ra.push_back(ia / (now() - s));
    s = now();
    for (int i = 0; i < ib; ++i) b();
    rb.push_back(ib / (now() - s));
  }
  return {summarize(ra), summarize(rb)};
}

int peer_reduction(int w, int h, int tw, int th) {
  for (int r : {8, 4, 2})
    if (w >= r * tw && h >= r * th) return r;
  return 1;
}

int reduced_flag(int r) {
  switch (r) {
    case 2: return cv::IMREAD_REDUCED_COLOR_2;
    case 4: return cv::IMREAD_REDUCED_COLOR_4;
    case 8: return cv::IMREAD_REDUCED_COLOR_8;
    default: return cv::IMREAD_COLOR;
  }
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw pm::Error("cannot read " + path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

Photo make_photo(std::string name, std::string bytes) {
  Photo p{std::move(name), std::move(bytes)};
  const cv::Mat m = cv::imdecode(cv::Mat(1, static_cast<int>(p.bytes.size()), CV_8U,
                                         p.bytes.data()),
                                 cv::IMREAD_COLOR);
  if (m.empty()) throw pm::Error("cannot decode " + p.name);
  p.width = m.cols;
  p.height = m.rows;
  return p;
}

std::vector<std::pair<int, int>> parse_sizes(const std::string& s) {
  std::vector<std::pair<int, int>> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    int w = 0, h = 0;
    if (std::sscanf(item.c_str(), "%dx%d", &w, &h) != 2 || w <= 0 || h <= 0)
      throw pm::Error("--sizes: expected WxH[,WxH...], got " + item);
    out.emplace_back(w, h);
  }
  return out;
}

void usage() {
  std::fprintf(stderr,
               "usage: pm_decode_bench [--card JSON] [--runs N] [--min-seconds S]\n"
               "                       [--synth SRC] [--sizes WxH,...] [FILE...]\n");
}

int run(int argc, char** argv) {
  std::string card_path = "models/sscd_distilled.json";
  std::string synth;
  std::string sizes = "2048x1536,4032x3024";
  int runs = 5;
  double min_seconds = 0.25;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw pm::Error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--card") card_path = next();
    else if (a == "--runs") runs = std::max(1, std::atoi(next().c_str()));
    else if (a == "--min-seconds") min_seconds = std::atof(next().c_str());
    else if (a == "--synth") synth = next();
    else if (a == "--sizes") sizes = next();
    else if (a == "-h" || a == "--help") { usage(); return 0; }
    else if (!a.empty() && a[0] == '-') { usage(); return 2; }
    else files.push_back(a);
  }
  if (files.empty() && synth.empty()) { usage(); return 2; }

  cv::setNumThreads(1);
  const pm::ModelCard card = pm::load_model_card(card_path);
  const int tw = card.input.width, th = card.input.height;

  std::vector<Photo> photos;
  for (const auto& f : files) {
    const auto slash = f.find_last_of('/');
    photos.push_back(make_photo(slash == std::string::npos ? f : f.substr(slash + 1),
                                read_file(f)));
  }
  if (!synth.empty()) {
    const cv::Mat src = cv::imread(synth, cv::IMREAD_COLOR);
    if (src.empty()) throw pm::Error("cannot decode --synth " + synth);
    for (auto [w, h] : parse_sizes(sizes)) {
      cv::Mat big;
      cv::resize(src, big, cv::Size(w, h), 0, 0, cv::INTER_CUBIC);
      std::vector<unsigned char> buf;
      cv::imencode(".jpg", big, buf, {cv::IMWRITE_JPEG_QUALITY, 90});
      photos.push_back(make_photo("synth " + std::to_string(w) + "x" + std::to_string(h),
                                  std::string(buf.begin(), buf.end())));
    }
  }

  std::printf("pm_decode_bench: 1 thread (cv::setNumThreads(1)), OpenCV %s, card %s "
              "(%dx%d %s, %s), %d runs after a warm-up, >= %.2f s each\n",
              CV_VERSION, card.name.c_str(), tw, th,
              std::string(pm::layout_name(card.input.layout)).c_str(),
              std::string(pm::interpolation_name(card.interpolation)).c_str(), runs,
              min_seconds);
  std::printf("%-28s %-8s %4s | %9s %9s %9s | %9s %13s | %6s\n", "photo", "decode", "1/k",
              "pm img/s", "min", "max", "cv img/s", "cv min/max", "ratio");
  std::printf("%-28s %-8s %4s | %9s %9s %9s | %9s %13s | %6s\n", "", "", "", "(Mpx/s)", "", "",
              "(Mpx/s)", "", "pm/cv");

  pm::Tensor batch = pm::make_batch_tensor(card, 1);
  for (const Photo& p : photos) {
    const double mpx = p.width * double(p.height) / 1e6;
    char label[64];
    std::snprintf(label, sizeof label, "%.24s", p.name.c_str());
    char dims[64];
    std::snprintf(dims, sizeof dims, "%dx%d %.2f Mpx %zu KB", p.width, p.height, mpx,
                  p.bytes.size() / 1024);
    std::printf("%s  (%s)\n", label, dims);
    for (bool reduced : {false, true}) {
      pm::DecodeOptions opt;
      opt.target_width = tw;
      opt.target_height = th;
      opt.reduced_decode = reduced;
      const auto probe = pm::decode_image(p.bytes, opt);
      if (!probe.status.is_ok()) throw pm::Error("pm::decode_image failed on " + p.name);
      const int pk = probe.reduction;
      const int ck = reduced ? peer_reduction(p.width, p.height, tw, th) : 1;
      if (reduced && pk == 1) {
        std::printf("%-28s %-8s %4s | (too small to reduce for %dx%d)\n", "", "reduced", "-",
                    tw, th);
        continue;
      }
      const cv::Mat raw(1, static_cast<int>(p.bytes.size()), CV_8U,
                        const_cast<char*>(p.bytes.data()));
      const int flag = reduced_flag(ck);
      cv::Mat out;
      const auto [pm_s, cv_s] = measure_pair(
          [&] {
            auto d = pm::decode_image(p.bytes, opt);
            pm::preprocess_into(d.rgb, card, batch, 0);
          },
          [&] {
            const cv::Mat m = cv::imdecode(raw, flag);
            cv::resize(m, out, cv::Size(tw, th), 0, 0, cv::INTER_AREA);
          },
          runs, min_seconds);
      char kk[16];
      std::snprintf(kk, sizeof kk, pk == ck ? "%d" : "%d/%d", pk, ck);
      char cvmm[32];
      std::snprintf(cvmm, sizeof cvmm, "%.1f/%.1f", cv_s.min, cv_s.max);
      std::printf("%-28s %-8s %4s | %9.1f %9.1f %9.1f | %9.1f %13s | %6.2f\n", "",
                  reduced ? "reduced" : "full", kk, pm_s.median, pm_s.min, pm_s.max,
                  cv_s.median, cvmm, pm_s.median / cv_s.median);
      std::printf("%-28s %-8s %4s | %9.1f %9s %9s | %9.1f %13s |\n", "", "", "",
                  pm_s.median * mpx, "", "", cv_s.median * mpx, "");
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pm_decode_bench: %s\n", e.what());
    return 1;
  }
}
