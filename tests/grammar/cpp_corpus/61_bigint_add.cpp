#include <string>
#include <algorithm>
using namespace std;

string addStrings(string a, string b) {
    string res;
    int i = a.size() - 1, j = b.size() - 1, carry = 0;
    while (i >= 0 || j >= 0 || carry) {
        int s = carry;
        if (i >= 0) s += a[i--] - '0';
        if (j >= 0) s += b[j--] - '0';
        res.push_back(char('0' + s % 10));
        carry = s / 10;
    }
    reverse(res.begin(), res.end());
    return res;
}

string multiplyByDigit(const string& a, int d) {
    if (d == 0) return "0";
    string r(a.size() + 1, '0');
    int carry = 0;
    for (int i = (int)a.size() - 1; i >= 0; --i) {
        int cur = (a[i] - '0') * d + carry;
        r[i + 1] = '0' + cur % 10;
        carry = cur / 10;
    }
    r[0] = '0' + carry;
    return r[0] == '0' ? r.substr(1) : r;
}
