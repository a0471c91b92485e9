// The HTML report of a small run with known groups: the page holds the groups'
// thumbnails as data: URIs, and a headless Chromium screenshot of it shows them — the
// grouped images are solid red and blue, the singletons green, so the screenshot must
// hold about a thumbnail's area of red per red member, of blue per blue member, and no
// green (singletons are not groups).
#include <gtest/gtest.h>
#include <mpi.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "pixelmill/comm.h"
#include "pixelmill/dedup.h"
#include "pixelmill/hdf5_io.h"
#include "skip_or_fail.h"

namespace pm {
namespace {

const Comm* g_comm = nullptr;
namespace fs = std::filesystem;

std::vector<float> unit(int dim, int axis, float wobble) {
  std::vector<float> e(dim, 0.f);
  e[axis] = 1.f;
  e[(axis + 1) % dim] = wobble;
  const float n = std::sqrt(1.f + wobble * wobble);
  for (auto& x : e) x /= n;
  return e;
}

std::string chromium() {
  for (const char* c : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
    if (fs::exists(c)) return c;
  return "";
}

struct TestRun {
  std::string dir, h5, html;
};

TestRun make_run(const Comm& comm) {
  TestRun run;
  char tmpl[] = "/tmp/pm_report_test_XXXXXX";
  run.dir = mkdtemp(tmpl);
  fs::create_directories(run.dir + "/photos/sub");
  run.h5 = run.dir + "/run.h5";
  run.html = run.dir + "/report.html";
  const int dim = 16;
  struct Img {
    std::string key;
    cv::Scalar bgr;
    std::vector<float> emb;
  };
  const std::vector<Img> imgs = {
      {"a_red1.jpg", {0, 0, 255}, unit(dim, 0, 0.0f)},   {"b_green1.jpg", {0, 255, 0}, unit(dim, 5, 0)},
      {"c_red2.jpg", {0, 0, 250}, unit(dim, 0, 0.1f)},   {"d_blue1.jpg", {255, 0, 0}, unit(dim, 2, 0)},
      {"e_green2.jpg", {0, 250, 0}, unit(dim, 7, 0)},    {"sub/f_red3.jpg", {0, 0, 245}, unit(dim, 0, 0.2f)},
      {"sub/g_blue2.jpg", {250, 0, 0}, unit(dim, 2, 0.15f)}, {"h_green3.jpg", {0, 245, 0}, unit(dim, 9, 0)},
  };
  SplitResults split;
  for (const Img& im : imgs) {
    cv::Mat m(200, 260, CV_8UC3, im.bgr);
    cv::imwrite(run.dir + "/photos/" + im.key, m);
    ImageResult r;
    r.key = im.key;
    r.embedding = im.emb;
    r.content_hash.fill(static_cast<std::uint8_t>(split.rows.size() + 1));
    r.width = 260;
    r.height = 200;
    split.rows.push_back(r);
  }
  h5::RunAttributes attrs;
  attrs.parameters_json = "{\"input\": \"dir:" + run.dir + "/photos\"}";
  attrs.model_card_json = "{}";
  h5::write_images(comm, run.h5, dim, {split}, 1, attrs);
  DedupOptions d;
  d.input = run.h5;
  d.threshold = 0.9;
  d.quiet = true;
  const DedupSummary s = run_dedup(comm, d);
  EXPECT_EQ(s.groups, 2);
  return run;
}

TEST(Report, ShowsTheGroupsInHeadlessChromium) {
  const Comm& comm = *g_comm;
  const TestRun run = make_run(comm);
  ReportOptions o;
  o.input = run.h5;
  o.output = run.html;
  o.thumb_px = 120;
  const ReportSummary s = write_report(o);
  EXPECT_EQ(s.groups, 2);
  EXPECT_EQ(s.groups_shown, 2);
  EXPECT_EQ(s.thumbnails, 5);
  EXPECT_EQ(s.missing_images, 0);
  std::stringstream html;
  html << std::ifstream(run.html).rdbuf();
  const std::string page = html.str();
  std::size_t uris = 0;
  for (std::size_t at = page.find("data:image/jpeg;base64,"); at != std::string::npos;
       at = page.find("data:image/jpeg;base64,", at + 1))
    ++uris;
  EXPECT_EQ(uris, 5u);
  EXPECT_NE(page.find("<svg"), std::string::npos);
  EXPECT_EQ(page.find("http://"), std::string::npos) << "the page must not load anything";
  EXPECT_EQ(page.find("src='/"), std::string::npos);

  const std::string browser = chromium();
  if (browser.empty()) PM_SKIP_OR_FAIL("chromium is not installed (scripts/deps/dedup.txt)");
  const std::string png = run.dir + "/shot.png";
  const std::string profile = run.dir + "/profile";
  const std::string cmd = "timeout 90 " + browser +
      " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
      " --disable-background-networking --disable-component-update --disable-sync"
      " --hide-scrollbars --force-device-scale-factor=1 --user-data-dir=" + profile +
      " --screenshot=" + png + " --window-size=1200,1400 file://" + run.html + " > " + run.dir +
      "/chromium.log 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const cv::Mat shot = cv::imread(png, cv::IMREAD_COLOR);
  ASSERT_FALSE(shot.empty());
  int red = 0, blue = 0, green = 0;
  for (int y = 0; y < shot.rows; ++y) {
    for (int x = 0; x < shot.cols; ++x) {
      const cv::Vec3b p = shot.at<cv::Vec3b>(y, x);  // BGR
      if (p[2] > 200 && p[1] < 60 && p[0] < 60) ++red;
      if (p[0] > 200 && p[1] < 60 && p[2] < 60) ++blue;
      if (p[1] > 200 && p[0] < 60 && p[2] < 60) ++green;
    }
  }
  // A 260x200 image fits a 120 px box as 120x92 = 11040 px.
  const int thumb = 120 * 92;
  EXPECT_GT(red, 3 * thumb * 8 / 10);
  EXPECT_LT(red, 3 * thumb * 12 / 10);
  EXPECT_GT(blue, 2 * thumb * 8 / 10);
  EXPECT_LT(blue, 2 * thumb * 12 / 10);
  EXPECT_LT(green, 200);
  if (!std::getenv("PM_KEEP")) fs::remove_all(run.dir);
}

}  // namespace
}  // namespace pm

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  int rc = 0;
  {
    pm::Comm comm(MPI_COMM_WORLD);
    pm::g_comm = &comm;
    rc = RUN_ALL_TESTS();
  }
  MPI_Finalize();
  return rc;
}
