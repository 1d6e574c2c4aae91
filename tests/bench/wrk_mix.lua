-- wrk_mix.lua - a mixed static load for the file-cache figures of compare.py: MIX_FILES small
-- files /mix/fNNNNN.html, the low numbers much more popular than the high ones (a cube of a
-- uniform draw: the first 10% of the files take about half the requests), and 5% requests for
-- files that do not exist.
local n = tonumber(os.getenv("MIX_FILES") or "2000")

function setup(thread)
    thread:set("seed", math.random(1, 1000000))
end

function init(args)
    math.randomseed(seed or os.time())
end

function request()
    if math.random() < 0.05 then
        return wrk.format("GET", string.format("/mix/none%06d.html", math.random(0, 999999)))
    end
    local i = math.floor(n * math.random() ^ 3)
    return wrk.format("GET", string.format("/mix/f%05d.html", i))
end
