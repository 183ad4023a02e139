#include <bits/stdc++.h>
using namespace std;

map<string, vector<pair<int, int>>> buildIndex(const vector<string>& words) {
    map<string, vector<pair<int, int>>> idx;
    for (int i = 0; i < (int)words.size(); ++i)
        idx[words[i]].push_back({i, (int)words[i].size()});
    return idx;
}

int depth3() {
    vector<vector<vector<int>>> cube(2, vector<vector<int>>(3, vector<int>(4, 1)));
    set<pair<int, vector<int>>> s;
    s.insert({1, {2, 3}});
    vector<map<int, set<int>>> vm(3);
    vm[0][1].insert(5);
    return cube[1][2][3] + (int)s.size() + (int)vm[0][1].size();
}
