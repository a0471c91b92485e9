// Which precision, and which file, a network runs at: `--precision auto|fp32|bf16|int8`
// against the network's model card (model_card.h: precisions, quantized, quantization)
// and what the CPU runs natively. choose_precision is a pure function (the decision and
// its reason); resolve_model_precision applies it to a model as the user names it.
//
//   auto  the fastest the card allows here: its quantized sibling in int8 where the CPU
//         has VNNI; else bf16 where the card lists it and the CPU has AVX512_BF16/AMX;
//         else fp32. Where both the int8 sibling and bf16 can run, which is faster depends
//         on the model (a sibling that keeps its costliest layers fp32 can lose to bf16):
//         the choice says measure_bf16, and a job times both and keeps the faster. An int8
//         card itself runs in int8.
//   int8  the quantized sibling (or the int8 card itself), with or without VNNI (without,
//         the engine runs its Q/DQ as written, in fp32 arithmetic: a note says so). A card
//         with neither is refused (IfNoInt8::kRefuse) or runs fp32 with a note
//         (IfNoInt8::kFallBack: a detector or crop model beside an int8 embedding model).
//   bf16  the card's own file in bf16, whatever the card lists; fp32 with a note where the
//         CPU has no native bf16 (emulated bf16 is slower than fp32).
//   fp32  the card's own file in fp32.
// An int8 card is refused with fp32 or bf16: its QDQ file would run fake-quantised
// (slower than the fp32 file, and less exact); the fp32 card is the one to give.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pixelmill/model_card.h"

namespace pm {

enum class PrecisionRequest : std::uint8_t { kAuto, kFp32, kBf16, kInt8 };
enum class RunPrecision : std::uint8_t { kFp32, kBf16, kInt8 };

// "auto" | "fp32" | "bf16" | "int8"; throws pm::Error naming the choices otherwise.
PrecisionRequest parse_precision_request(const std::string& name);
std::string_view precision_request_name(PrecisionRequest p);
std::string_view run_precision_name(RunPrecision p);

// What the CPU runs natively (in a job: what every rank's CPU does, so that all ranks
// decide alike).
struct CpuCapabilities {
  bool bf16 = false;  // AVX512_BF16 or AMX
  bool vnni = false;  // AVX512_VNNI, AVX_VNNI or AMX: int8 convolutions
};

// What an explicit --precision int8 does to a card with no int8 model.
enum class IfNoInt8 : std::uint8_t { kRefuse, kFallBack };

struct PrecisionChoice {
  RunPrecision precision = RunPrecision::kFp32;
  bool sibling = false;  // run the card's quantized sibling, not the card's own file
  // Why, for the run's summary and output file: "auto: quantized sibling x.int8.json,
  // CPU has VNNI".
  std::string reason;
  // A fallback the user should hear of before the run ("" = none).
  std::string note;
  // auto, with the int8 sibling chosen and bf16 also possible: the caller may time both
  // (at its batch size, on its threads) and run the card's own file in bf16 if faster.
  bool measure_bf16 = false;
};

// Pure: the decision alone (no file is read; the sibling is checked when it is loaded).
// Throws pm::Error for an int8 request that `card` cannot serve under kRefuse, and for
// fp32/bf16 on an int8 card.
PrecisionChoice choose_precision(const ModelCard& card, PrecisionRequest request,
                                 const CpuCapabilities& cpu, IfNoInt8 if_no_int8);

// A model as the user names it (resolve_model), and what runs of it.
struct ResolvedModel {
  ModelFiles files;  // what runs: the card's own file, or its quantized sibling's
  PrecisionChoice choice;
  std::string given_card;  // the card the user named (files.card unless the sibling runs)
};
ResolvedModel resolve_model_precision(const std::string& model_or_card, PrecisionRequest request,
                                      const CpuCapabilities& cpu, IfNoInt8 if_no_int8);

}  // namespace pm
