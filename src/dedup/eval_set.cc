// The labelled evaluation set: real photos and the edits of issue 5 applied with OpenCV.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>

#include "pixelmill/dedup_eval.h"
#include "pixelmill/error.h"

namespace pm::eval {

namespace fs = std::filesystem;

std::vector<std::string> transform_names() {
  return {"copy",   "crop",   "resize", "jpeg",   "colour", "rotate",
          "text",   "flip",   "border", "combo_crop_jpeg_colour", "combo_resize_rotate_text_border"};
}

std::vector<std::string> default_photos() {
  const std::string darknet = "/usr/share/darknet/data/";
  const std::string ocv = "/usr/share/doc/opencv-doc/examples/data/";
  const std::vector<std::string> candidates = {
      darknet + "dog.jpg", darknet + "eagle.jpg", darknet + "giraffe.jpg", darknet + "horses.jpg",
      darknet + "kite.jpg", darknet + "person.jpg", darknet + "scream.jpg",
      ocv + "aero1.jpg", ocv + "aloeL.jpg", ocv + "apple.jpg", ocv + "baboon.jpg",
      ocv + "basketball1.png", ocv + "board.jpg", ocv + "box_in_scene.png", ocv + "building.jpg",
      ocv + "butterfly.jpg", ocv + "cards.png", ocv + "chicky_512.png", ocv + "ela_original.jpg",
      ocv + "fruits.jpg", ocv + "graf1.png", ocv + "home.jpg", ocv + "leuvenA.jpg",
      ocv + "licenseplate_motion.jpg", ocv + "messi5.jpg", ocv + "orange.jpg",
      ocv + "rubberwhale1.png", ocv + "smarties.png", ocv + "squirrel_cls.jpg",
      ocv + "starry_night.jpg", ocv + "stuff.jpg", ocv + "sudoku.png", ocv + "left01.jpg",
      ocv + "Blender_Suzanne1.jpg", ocv + "HappyFish.jpg", ocv + "text_defocus.jpg",
      ocv + "ellipses.jpg", ocv + "pic2.png",
      // python3-skimage (optional): photographs only.
      "/usr/lib/python3/dist-packages/skimage/data/astronaut.png",
      "/usr/lib/python3/dist-packages/skimage/data/chelsea.png",
      "/usr/lib/python3/dist-packages/skimage/data/coffee.png",
      "/usr/lib/python3/dist-packages/skimage/data/motorcycle_left.png",
      "/usr/lib/python3/dist-packages/skimage/data/rocket.jpg",
      "/usr/lib/python3/dist-packages/skimage/data/hubble_deep_field.jpg",
      "/usr/lib/python3/dist-packages/skimage/data/immunohistochemistry.png",
      "/usr/lib/python3/dist-packages/skimage/data/color.png",
  };
  std::vector<std::string> out;
  for (const auto& c : candidates)
    if (fs::exists(c)) out.push_back(c);
  return out;
}

namespace {

cv::Mat crop(const cv::Mat& m, double keep, std::mt19937& gen) {
  const int w = std::max(8, static_cast<int>(m.cols * keep));
  const int h = std::max(8, static_cast<int>(m.rows * keep));
  std::uniform_int_distribution<int> x(0, m.cols - w), y(0, m.rows - h);
  return m(cv::Rect(x(gen), y(gen), w, h)).clone();
}

cv::Mat resize(const cv::Mat& m, double f) {
  cv::Mat out;
  cv::resize(m, out, cv::Size(), f, f, f < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}

cv::Mat colour(const cv::Mat& m) {
  // Warmer, brighter, more saturated: a typical "filter" of a re-upload.
  cv::Mat hsv;
  cv::cvtColor(m, hsv, cv::COLOR_BGR2HSV);
  std::vector<cv::Mat> ch;
  cv::split(hsv, ch);
  ch[0].forEach<std::uint8_t>([](std::uint8_t& h, const int*) { h = static_cast<std::uint8_t>((h + 8) % 180); });
  ch[1].convertTo(ch[1], -1, 1.25, 0);
  ch[2].convertTo(ch[2], -1, 1.1, 15);
  cv::merge(ch, hsv);
  cv::Mat out;
  cv::cvtColor(hsv, out, cv::COLOR_HSV2BGR);
  return out;
}

cv::Mat rotate(const cv::Mat& m, double degrees) {
  const cv::Mat r = cv::getRotationMatrix2D(cv::Point2f(m.cols / 2.f, m.rows / 2.f), degrees, 1.0);
  cv::Mat out;
  cv::warpAffine(m, out, r, m.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0, 0, 0));
  return out;
}

cv::Mat text(const cv::Mat& m) {
  cv::Mat out = m.clone();
  const double scale = std::max(0.6, m.cols / 500.0);
  const int thick = std::max(2, static_cast<int>(scale * 2.5));
  cv::putText(out, "SALE -50%", cv::Point(m.cols / 12, m.rows / 3), cv::FONT_HERSHEY_DUPLEX,
              scale * 1.4, cv::Scalar(255, 255, 255), thick + 2, cv::LINE_AA);
  cv::putText(out, "SALE -50%", cv::Point(m.cols / 12, m.rows / 3), cv::FONT_HERSHEY_DUPLEX,
              scale * 1.4, cv::Scalar(0, 0, 220), thick, cv::LINE_AA);
  cv::putText(out, "www.example-shop.com", cv::Point(m.cols / 12, m.rows * 9 / 10),
              cv::FONT_HERSHEY_SIMPLEX, scale * 0.8, cv::Scalar(255, 255, 255), thick, cv::LINE_AA);
  return out;
}

cv::Mat flip(const cv::Mat& m) {
  cv::Mat out;
  cv::flip(m, out, 1);
  return out;
}

cv::Mat border(const cv::Mat& m, double frac, const cv::Scalar& colour_value) {
  const int bx = static_cast<int>(m.cols * frac), by = static_cast<int>(m.rows * frac);
  cv::Mat out;
  cv::copyMakeBorder(m, out, by, by, bx, bx, cv::BORDER_CONSTANT, colour_value);
  return out;
}

void write_jpeg(const cv::Mat& m, const std::string& path, int quality) {
  PM_CHECK(cv::imwrite(path, m, {cv::IMWRITE_JPEG_QUALITY, quality}), "cannot write " + path);
}

}  // namespace

EvalSet build_eval_set(const std::string& dir, const std::vector<std::string>& photos,
                       int distractors, std::uint32_t seed) {
  PM_CHECK(!photos.empty(), "eval-dedup: no source photos found");
  PM_CHECK(distractors >= 0 && distractors < static_cast<int>(photos.size()),
           "eval-dedup: more distractors than photos");
  fs::create_directories(dir);
  EvalSet set;
  set.dir = dir;
  std::mt19937 gen(seed);
  const int sources = static_cast<int>(photos.size()) - distractors;
  for (int i = 0; i < static_cast<int>(photos.size()); ++i) {
    cv::Mat m = cv::imread(photos[i], cv::IMREAD_COLOR);
    PM_CHECK(!m.empty(), "eval-dedup: cannot read " + photos[i]);
    // Large photos are brought to at most 1024 px first: the set stays small and fast.
    if (std::max(m.cols, m.rows) > 1024) m = resize(m, 1024.0 / std::max(m.cols, m.rows));
    char stem[32];
    std::snprintf(stem, sizeof stem, "%s%03d", i < sources ? "s" : "d", i);
    auto add = [&](const std::string& transform, const cv::Mat& img, int quality) {
      EvalImage e{std::string(stem) + "_" + transform + ".jpg", i, transform};
      write_jpeg(img, dir + "/" + e.key, quality);
      set.images.push_back(e);
    };
    if (i >= sources) {
      add("distractor", m, 92);
      continue;
    }
    add("original", m, 92);
    for (const std::string& t : transform_names()) {
      if (t == "copy") {
        EvalImage e{std::string(stem) + "_copy.jpg", i, t};
        fs::copy_file(dir + "/" + std::string(stem) + "_original.jpg", dir + "/" + e.key,
                      fs::copy_options::overwrite_existing);
        set.images.push_back(e);
      } else if (t == "crop") {
        add(t, crop(m, 0.75, gen), 92);
      } else if (t == "resize") {
        add(t, resize(m, 0.4), 92);
      } else if (t == "jpeg") {
        add(t, m, 15);
      } else if (t == "colour") {
        add(t, colour(m), 92);
      } else if (t == "rotate") {
        add(t, rotate(m, (gen() % 2 ? 1 : -1) * 7.0), 92);
      } else if (t == "text") {
        add(t, text(m), 92);
      } else if (t == "flip") {
        add(t, flip(m), 92);
      } else if (t == "border") {
        add(t, border(m, 0.12, gen() % 2 ? cv::Scalar(255, 255, 255) : cv::Scalar(0, 0, 0)), 92);
      } else if (t == "combo_crop_jpeg_colour") {
        add(t, colour(crop(m, 0.85, gen)), 30);
      } else if (t == "combo_resize_rotate_text_border") {
        add(t, border(text(rotate(resize(m, 0.6), 4.0)), 0.06, cv::Scalar(255, 255, 255)), 85);
      }
    }
  }
  set.sources = sources;
  set.distractors = distractors;
  return set;
}

}  // namespace pm::eval
