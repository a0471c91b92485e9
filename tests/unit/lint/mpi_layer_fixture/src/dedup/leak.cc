// Fixture of tests/unit/lint (never compiled): a raw MPI call outside src/mpi.
void leak(long* v, void* req) {
  MPI_Isend(v, 1, MPI_INT64_T, 0, 7, MPI_COMM_WORLD, req);
}
