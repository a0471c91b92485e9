// Fixture of tests/unit/lint (never compiled): main may use the world communicator.
#include <mpi.h>
int main(int argc, char** argv) { MPI_Init(&argc, &argv); MPI_Finalize(); }
