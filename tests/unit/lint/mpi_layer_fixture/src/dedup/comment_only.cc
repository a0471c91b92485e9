// Fixture of tests/unit/lint (never compiled): MPI named only where it is not code.
// The ring join overlaps MPI_Isend/MPI_Irecv with the matmul.
/* A block comment about MPI_Alltoallv, over
   two lines, with a "quote and MPI_Bcast */
const char* kUrl = "hbase://host:9090/MPI_table";  // a string with // inside
const char kQuote = '"';
int after_quote = 1;  // MPI_Barrier in a comment after a character literal
