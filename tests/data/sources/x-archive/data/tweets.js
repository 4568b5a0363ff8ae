window.YTD.tweets.part0 = [
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1891567331450060936"
          ],
          "editableUntil" : "2026-02-17T15:05:09.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [
          {
            "url" : "https://t.co/Qm4eT2vXa1",
            "expanded_url" : "https://www.chalkbeat.org/2026/02/17/teacher-transfer-study/",
            "display_url" : "chalkbeat.org/2026/02/17/tea…",
            "indices" : [
              "186",
              "209"
            ]
          }
        ]
      },
      "display_text_range" : [
        "0",
        "209"
      ],
      "favorite_count" : "41",
      "id_str" : "1891567331450060936",
      "truncated" : false,
      "retweet_count" : "12",
      "id" : "1891567331450060936",
      "created_at" : "Tue Feb 17 14:05:09 +0000 2026",
      "favorited" : false,
      "full_text" : "New research on a federal program found that when top teachers transferred to high-need schools, their performance dropped significantly. Teacher effectiveness may not be a fixed skill. https://t.co/Qm4eT2vXa1",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [
          {
            "name" : "Andrej Karpathy",
            "screen_name" : "karpathy",
            "indices" : [
              "3",
              "12"
            ],
            "id_str" : "33836629",
            "id" : "33836629"
          }
        ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "140"
      ],
      "favorite_count" : "0",
      "id_str" : "1891222000111222333",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1891222000111222333",
      "created_at" : "Mon Feb 16 19:20:00 +0000 2026",
      "favorited" : false,
      "full_text" : "RT @karpathy: Three days ago I left autoresearch tuning nanochat for ~2 days on depth=12 model. It found ~20 changes that improved the valid…",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/iphone\" rel=\"nofollow\">Twitter for iPhone</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ],
        "media" : [
          {
            "expanded_url" : "https://x.com/mandercorn/status/1890000000000000001/photo/1",
            "indices" : [
              "44",
              "67"
            ],
            "url" : "https://t.co/Ph0t0aBcDe",
            "media_url" : "http://pbs.twimg.com/media/GjXyZabcdEF.jpg",
            "id_str" : "1890000000000000099",
            "id" : "1890000000000000099",
            "media_url_https" : "https://pbs.twimg.com/media/GjXyZabcdEF.jpg",
            "sizes" : { },
            "type" : "photo",
            "display_url" : "pic.x.com/ph0t0abcde"
          }
        ]
      },
      "display_text_range" : [
        "0",
        "43"
      ],
      "favorite_count" : "7",
      "id_str" : "1890000000000000001",
      "truncated" : false,
      "retweet_count" : "1",
      "id" : "1890000000000000001",
      "created_at" : "Thu Feb 12 08:00:00 +0000 2026",
      "favorited" : false,
      "full_text" : "Our new reading corner &amp; what it changed https://t.co/Ph0t0aBcDe",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [
          {
            "name" : "Someone Else",
            "screen_name" : "someone",
            "indices" : [
              "0",
              "8"
            ],
            "id_str" : "1234",
            "id" : "1234"
          }
        ],
        "urls" : [
          {
            "url" : "https://t.co/RePly12345",
            "expanded_url" : "https://reply.example.org/only-in-a-reply",
            "display_url" : "reply.example.org/only-in-a-reply",
            "indices" : [
              "20",
              "43"
            ]
          }
        ]
      },
      "display_text_range" : [
        "9",
        "43"
      ],
      "favorite_count" : "0",
      "in_reply_to_status_id_str" : "1889999999999999999",
      "id_str" : "1889000000000000002",
      "in_reply_to_user_id" : "1234",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1889000000000000002",
      "in_reply_to_status_id" : "1889999999999999999",
      "created_at" : "Wed Feb 11 10:00:00 +0000 2026",
      "favorited" : false,
      "full_text" : "@someone Agreed, see https://t.co/RePly12345",
      "lang" : "en",
      "in_reply_to_screen_name" : "someone",
      "in_reply_to_user_id_str" : "1234"
    }
  },
  {
    "tweet" : {
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [
          {
            "url" : "https://t.co/EssAy98765",
            "expanded_url" : "https://www.lawfaremedia.org/article/ai-law-and-the-republic",
            "display_url" : "lawfaremedia.org/article/ai-law…",
            "indices" : [
              "79",
              "102"
            ]
          },
          {
            "url" : "https://t.co/QuOte45678",
            "expanded_url" : "https://twitter.com/lawprof/status/1888000000000000000",
            "display_url" : "twitter.com/lawprof/status…",
            "indices" : [
              "103",
              "126"
            ]
          }
        ]
      },
      "display_text_range" : [
        "0",
        "126"
      ],
      "favorite_count" : "19",
      "id_str" : "1888500000000000003",
      "truncated" : false,
      "retweet_count" : "4",
      "id" : "1888500000000000003",
      "created_at" : "Sun Feb 08 21:30:00 +0000 2026",
      "favorited" : false,
      "full_text" : "A quite brilliant essay on AI, the law, and the future of the republic &gt; 1/2 https://t.co/EssAy98765 https://t.co/QuOte45678",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [
          {
            "url" : "https://t.co/GiThUb0001",
            "expanded_url" : "https://github.com/karpathy/nanochat/commit/6f1a9c2",
            "display_url" : "github.com/karpathy/nanoc…",
            "indices" : [
              "41",
              "64"
            ]
          }
        ]
      },
      "display_text_range" : [
        "0",
        "64"
      ],
      "favorite_count" : "3",
      "in_reply_to_status_id_str" : "1888500000000000003",
      "id_str" : "1888500000000000004",
      "in_reply_to_user_id" : "14212345",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1888500000000000004",
      "in_reply_to_status_id" : "1888500000000000003",
      "created_at" : "Sun Feb 08 21:31:00 +0000 2026",
      "favorited" : false,
      "full_text" : "And the commit that started it all, 2/2: https://t.co/GiThUb0001",
      "lang" : "en",
      "in_reply_to_screen_name" : "mandercorn",
      "in_reply_to_user_id_str" : "14212345"
    }
  }
]
