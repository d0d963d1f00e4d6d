#include "aiolocals/local.hpp"
int main() {}
