// The one translation unit the build compiles: the routes and the scan, included whole. Each
// file parses ATen's headers, about 10 s of the compiler's time, so one unit instead of four
// builds in about half the time on two cores (a first use waits for it). Each file keeps its
// own namespace, so their helper names do not meet.
#include "lstm_route.cpp"
#include "gru_route.cpp"
#include "mut_route.cpp"
#include "scan.cpp"
