#include <stdexcept>
#include <string>
#include <vector>
using namespace std;

int safeDivide(int a, int b) {
    if (b == 0) throw domain_error("b is zero");
    return a / b;
}

int tryAll(const vector<pair<int, int>>& cases) {
    int ok = 0;
    for (const auto& c : cases) {
        try {
            ok += safeDivide(c.first, c.second);
        } catch (const domain_error& e) {
            ok -= 1;
        } catch (...) {
            throw;
        }
    }
    return ok;
}
