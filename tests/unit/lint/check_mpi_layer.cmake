# The MPI layer rule (DESIGN.md: "src/mpi is the only place that calls MPI, every call
# checked"; no MPI_COMM_WORLD below main): fails, naming each file and the MPI names it
# uses, when MPI appears in src/ or include/ outside the layer.
#
# The layer is src/mpi/, main (src/app/main.cc: MPI_Init, the world communicator,
# MPI_Abort) and the public headers of pm_mpi, which declare the owners of MPI handles.
# A new pm_mpi header that holds a handle is added to `layer_headers` below, on purpose.
# Comments, string and character literals are skipped: documentation may name MPI calls.
#
# Usage: cmake -DROOT=<source tree> -P check_mpi_layer.cmake
cmake_minimum_required(VERSION 3.25)  # IN_LIST, list(PREPEND)
if(NOT DEFINED ROOT)
  message(FATAL_ERROR "usage: cmake -DROOT=<source tree> -P check_mpi_layer.cmake")
endif()

set(layer_dir "src/mpi/")
set(layer_files
  src/app/main.cc
  include/pixelmill/comm.h            # pm::Comm owns an MPI_Comm
  include/pixelmill/point_to_point.h  # pm::Request owns an MPI_Request
  include/pixelmill/rma_window.h      # pm::RmaWindow owns an MPI_Win
  include/pixelmill/vote.h)           # pm::Vote owns a collective MPI_Request

file(GLOB_RECURSE files RELATIVE "${ROOT}"
  "${ROOT}/src/*.cc" "${ROOT}/src/*.cpp" "${ROOT}/src/*.h" "${ROOT}/src/*.hpp"
  "${ROOT}/include/*.h" "${ROOT}/include/*.hpp")
list(SORT files)

# Whatever starts first wins: a line comment, a block comment, a string, a character
# literal (so "http://..." is a string, and a quote inside a comment is comment).
set(nl "\n")
set(skip "//[^${nl}]*|/\\*([^*]|\\*+[^*/])*\\*+/|\"([^\"\\\\${nl}]|\\\\.)*\"|'([^'\\\\${nl}]|\\\\.)*'")

set(checked 0)
set(offenders 0)
foreach(f IN LISTS files)
  string(FIND "${f}" "${layer_dir}" at)
  if(at EQUAL 0 OR f IN_LIST layer_files)
    continue()
  endif()
  math(EXPR checked "${checked} + 1")
  file(READ "${ROOT}/${f}" text)
  string(REGEX REPLACE "${skip}" " " code "${text}")
  string(REGEX MATCHALL "MPI_[A-Za-z0-9_]*" names "${code}")
  if(code MATCHES "#[ \t]*include[ \t]*<mpi\\.h>")
    list(PREPEND names "<mpi.h>")
  endif()
  if(names)
    list(REMOVE_DUPLICATES names)
    list(JOIN names " " shown)
    message("${f}: ${shown}")
    math(EXPR offenders "${offenders} + 1")
  endif()
endforeach()

if(offenders GREATER 0)
  message(FATAL_ERROR "MPI outside the MPI layer in ${offenders} file(s) (listed above): "
    "move the calls behind a wrapper in src/mpi (pm::Comm, pm::Request, pm::RmaWindow, "
    "comm_values.h), or, for a new pm_mpi header, add it to ${CMAKE_CURRENT_LIST_FILE}")
endif()
message("MPI layer: ${checked} files outside src/mpi, none uses MPI")
