#include <vector>
#include <cstdlib>
using namespace std;

void permuteRec(vector<int>& nums, int start, vector<vector<int>>& out) {
    if (start == (int)nums.size()) {
        out.push_back(nums);
        return;
    }
    for (int i = start; i < (int)nums.size(); i++) {
        swap(nums[start], nums[i]);
        permuteRec(nums, start + 1, out);
        swap(nums[start], nums[i]);
    }
}

vector<vector<int>> permute(vector<int> nums) {
    vector<vector<int>> out;
    permuteRec(nums, 0, out);
    return out;
}

bool solveNQueens(int row, int n, vector<int>& cols) {
    if (row == n) return true;
    for (int c = 0; c < n; ++c) {
        bool ok = true;
        for (int r = 0; r < row && ok; ++r)
            if (cols[r] == c || abs(cols[r] - c) == row - r) ok = false;
        if (!ok) continue;
        cols[row] = c;
        if (solveNQueens(row + 1, n, cols)) return true;
    }
    return false;
}
