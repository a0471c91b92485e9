// The HDF5 output layout, shared by the writer (sink/hdf5), dedup and report.
// One file per run, written collectively. Row i of every /images dataset is the same
// record; rows are in split order, and within a split in key order, so the global row
// index of a record does not depend on the number of ranks.
//
//   /images/key            uint8  [N, K]  key bytes, zero padded (K = longest key, >= 1,
//                                         <= extract's --max-key-bytes)
//   /images/key_length     uint32 [N]     key length, <= K (keys may contain 0x00); 0 for a
//                                         key over --max-key-bytes (a too_large row whose
//                                         error message gives its length and first bytes)
//   /images/status         uint8  [N]     pm::StatusCode
//   /images/error          string [N]     fixed-length (kErrorLength) NUL-padded message
//   /images/embedding      float  [N, D]  unit length when the card says "l2"; 0 when failed
//   /images/content_hash   uint8  [N, 32] SHA-256 of the raw bytes
//   /images/phash          uint64 [N]     perceptual hash
//   /images/width, height  int32  [N]
//   /images/timestamp      int64  [N]
//   /dedup/exact_group     int64  [N]     smallest row index with the same content hash
//   /dedup/group           int64  [N]     smallest row index of the near-duplicate component
//   /dedup/pairs           int64  [M, 2]  row pairs (i < j) with cosine >= threshold
//   /dedup/score           float  [M]     their cosine similarity
//   /dedup/regrouped       int64  [K, 2]  (row, group): rows of the --against files whose
//                                         group this run changed (new rows bridged two
//                                         older groups; the smaller id stays), ids >= N
//   /index/centroids       float  [L, D]  dedup --index ivf: the lists' unit-norm centroids
//   /index/list_sizes      int64  [L]     rows of the run (and its --against files) per list
//   /index/home            int32  [N]     each row's nearest list (-1: no embedding)
//                                         (attributes: lists, probe, iterations, sample_rows,
//                                         seed, train_per_list; absent after an exact join)
//   /detections/image      int64  [n]     extract --detector: the row in /images of each
//                                         detected object; rows in /images order, and
//                                         within a row best score first
//   /detections/box        float  [n, 4]  x0, y0, x1, y1 in the image's full-size pixels
//                                         (after EXIF orientation)
//   /detections/score      float  [n]
//   /detections/class      int32  [n]     index into the attribute `classes`
//   /detections/embedding  float  [n, E]  the crop's embedding (crop model's card), only
//                                         when crops are embedded
//                                         (attributes: classes (JSON list), detector_card
//                                         (JSON), crop_model_card (JSON, when embedded),
//                                         min_score, nms_iou, max_crops, crop_margin)
//   /dedup_crops/group     int64  [n]     dedup --on crops: per detection, the smallest
//                                         detection id of its near-duplicate component
//   /dedup_crops/pairs     int64  [M, 2]  detection pairs (i < j) with cosine >= threshold
//   /dedup_crops/score     float  [M]
//   /dedup_crops/image_pairs int64 [K, 2] rows of /images (i < j) that share an object
//   /dedup_crops/image_score float [K]    the best score of the object pairs between them
//                                         (attributes: threshold, pairs, groups,
//                                         image_pairs, join_precision)
//   /progress/split_done   uint8  [S]     1 = planned split s has its rows in /images
//   /progress/split_rows   int64  [S]     rows of each done split (0 for the others)
//   /progress/split_first_row int64 [S]   the row of /images where a done split's rows begin
//                                         (-1 for the others); in a complete file, the sum
//                                         of the rows of the splits before it
//   /progress/split_detections, split_first_detection int64 [S]: the same for the rows
//                                         of /detections (extract --detector only)
// Root attributes (fixed-length UTF-8 strings, NUL-padded, exactly as long as the value and at
// least 1 byte, unless noted; a string over 60 KiB, and every string of files written before,
// is variable-length; see src/sink/hdf5/h5_attributes.h): pixelmill_version, command_line, model_card
// (the card JSON), model_card_sha256, model_sha256, parameters (JSON), counts (JSON),
// created_utc; embedding_dim (int64), rows (int64); complete (int64: 1 = every planned
// split is in the file, 0 = a run stopped early that `extract --resume` continues),
// plan_sha256 (SHA-256 of the encoded split plan), plan_ranks (int64: the rank count the
// plan was sized for), splits (int64: planned splits), splits_done (int64); staged_rows
// (int64: rows of /images that /progress accounts for; rows past it belong to a round a
// kill cut short) and rounds (int64: checkpoint rounds written), see pixelmill/run_writer.h;
// with --detector also staged_detections (int64: the same commit point for /detections)
// and detection_dim (int64: E, 0 when crops are not embedded).
// Files written before /progress existed have none of these and are complete.
// /dedup attributes: threshold (float), pairs (int64), groups (int64: groups of two or
// more rows), against (JSON list), join_precision ("fp32" or "bf16": the matmuls that ran).
#pragma once

#include <cstddef>
#include <cstdint>

namespace pm::layout {

inline constexpr const char* kImages = "/images";
inline constexpr const char* kKey = "/images/key";
inline constexpr const char* kKeyLength = "/images/key_length";
inline constexpr const char* kStatus = "/images/status";
inline constexpr const char* kError = "/images/error";
inline constexpr const char* kEmbedding = "/images/embedding";
inline constexpr const char* kContentHash = "/images/content_hash";
inline constexpr const char* kPhash = "/images/phash";
inline constexpr const char* kWidth = "/images/width";
inline constexpr const char* kHeight = "/images/height";
inline constexpr const char* kTimestamp = "/images/timestamp";
inline constexpr const char* kDedup = "/dedup";
inline constexpr const char* kExactGroup = "/dedup/exact_group";
inline constexpr const char* kGroup = "/dedup/group";
inline constexpr const char* kPairs = "/dedup/pairs";
inline constexpr const char* kScore = "/dedup/score";
inline constexpr const char* kRegrouped = "/dedup/regrouped";
inline constexpr const char* kIndex = "/index";
inline constexpr const char* kCentroids = "/index/centroids";
inline constexpr const char* kListSizes = "/index/list_sizes";
inline constexpr const char* kHome = "/index/home";
inline constexpr const char* kDetections = "/detections";
inline constexpr const char* kDetImage = "/detections/image";
inline constexpr const char* kDetBox = "/detections/box";
inline constexpr const char* kDetScore = "/detections/score";
inline constexpr const char* kDetClass = "/detections/class";
inline constexpr const char* kDetEmbedding = "/detections/embedding";
inline constexpr const char* kDedupCrops = "/dedup_crops";
inline constexpr const char* kCropGroup = "/dedup_crops/group";
inline constexpr const char* kCropPairs = "/dedup_crops/pairs";
inline constexpr const char* kCropScore = "/dedup_crops/score";
inline constexpr const char* kCropImagePairs = "/dedup_crops/image_pairs";
inline constexpr const char* kCropImageScore = "/dedup_crops/image_score";
inline constexpr const char* kProgress = "/progress";
inline constexpr const char* kSplitDone = "/progress/split_done";
inline constexpr const char* kSplitRows = "/progress/split_rows";
inline constexpr const char* kSplitFirstRow = "/progress/split_first_row";
inline constexpr const char* kSplitDetections = "/progress/split_detections";
inline constexpr const char* kSplitFirstDetection = "/progress/split_first_detection";

inline constexpr std::size_t kErrorLength = 160;  // bytes per error message, NUL padded
inline constexpr std::size_t kContentHashBytes = 32;  // SHA-256

// Bounds that readers hold every file to, so that a crafted file cannot make them
// allocate without limit. The key width is also the largest `extract --max-key-bytes`.
inline constexpr std::size_t kMaxKeyWidth = std::size_t{1} << 20;
// Rows of one file, and row ids of a file with its older files (dedup --against): far
// beyond any real run, and small enough that row arithmetic (ids times ranks) cannot
// overflow int64.
inline constexpr std::int64_t kMaxRows = std::int64_t{1} << 40;
inline constexpr std::size_t kMaxEmbeddingDim = std::size_t{1} << 16;

}  // namespace pm::layout
