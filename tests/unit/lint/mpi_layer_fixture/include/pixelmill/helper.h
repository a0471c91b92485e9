// Fixture of tests/unit/lint (never compiled): a header outside the layer including mpi.h.
#pragma once
#include <mpi.h>
