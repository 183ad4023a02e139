#include <vector>
#include <cstdint>
using namespace std;

int operatorSoup(int a, int b, unsigned c) {
    int r = a+++b;
    r = a---b;
    r += -a * +b / (b ? b : 1) % 7;
    r -= (a << 2) >> 1;
    r *= (a < b) + (a > b) + (a <= b) + (a >= b);
    r /= ((a == b) || (a != b)) ? 1 : 2;
    r %= 1000;
    r <<= 1;
    r >>= 1;
    r &= 0xFFFF;
    r |= 0x10;
    r ^= ~c;
    bool t = !(a && b) || (a & b) | (a ^ b);
    int* p = &r;
    *p += sizeof(int) + sizeof r;
    long double ld = 1.5e-3L + .25 + 3.f;
    char ch = '\'';
    char nl = '\n';
    const char* s = "tab\there \"quoted\" \\ backslash";
    r = (int)ld + ch + nl + (s[0] == 't') + t;
    r = a > b ? a : b > 0 ? b : 0;
    int arr[3] = {1, 2, 3};
    r += arr[1] + 2[arr];
    return r, r + 1;
}
