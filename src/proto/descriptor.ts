/** proto/protocol.proto and proto/spb.proto as protobufjs JSON; written by scripts/proto-descriptor.mjs, do not edit. */
export const DESCRIPTOR = {
  "nested": {
    "pb": {
      "nested": {
        "PubMsg": {
          "fields": {
            "clientID": {
              "type": "string",
              "id": 1
            },
            "guid": {
              "type": "string",
              "id": 2
            },
            "subject": {
              "type": "string",
              "id": 3
            },
            "reply": {
              "type": "string",
              "id": 4
            },
            "data": {
              "type": "bytes",
              "id": 5
            },
            "connID": {
              "type": "bytes",
              "id": 6
            },
            "sha256": {
              "type": "bytes",
              "id": 10
            }
          }
        },
        "PubAck": {
          "fields": {
            "guid": {
              "type": "string",
              "id": 1
            },
            "error": {
              "type": "string",
              "id": 2
            }
          }
        },
        "MsgProto": {
          "fields": {
            "sequence": {
              "type": "uint64",
              "id": 1
            },
            "subject": {
              "type": "string",
              "id": 2
            },
            "reply": {
              "type": "string",
              "id": 3
            },
            "data": {
              "type": "bytes",
              "id": 4
            },
            "timestamp": {
              "type": "int64",
              "id": 5
            },
            "redelivered": {
              "type": "bool",
              "id": 6
            },
            "redeliveryCount": {
              "type": "uint32",
              "id": 7
            },
            "CRC32": {
              "type": "uint32",
              "id": 10
            }
          }
        },
        "Ack": {
          "fields": {
            "subject": {
              "type": "string",
              "id": 1
            },
            "sequence": {
              "type": "uint64",
              "id": 2
            }
          }
        },
        "ConnectRequest": {
          "fields": {
            "clientID": {
              "type": "string",
              "id": 1
            },
            "heartbeatInbox": {
              "type": "string",
              "id": 2
            },
            "protocol": {
              "type": "int32",
              "id": 3
            },
            "connID": {
              "type": "bytes",
              "id": 4
            },
            "pingInterval": {
              "type": "int32",
              "id": 5
            },
            "pingMaxOut": {
              "type": "int32",
              "id": 6
            }
          }
        },
        "ConnectResponse": {
          "fields": {
            "pubPrefix": {
              "type": "string",
              "id": 1
            },
            "subRequests": {
              "type": "string",
              "id": 2
            },
            "unsubRequests": {
              "type": "string",
              "id": 3
            },
            "closeRequests": {
              "type": "string",
              "id": 4
            },
            "error": {
              "type": "string",
              "id": 5
            },
            "subCloseRequests": {
              "type": "string",
              "id": 6
            },
            "pingRequests": {
              "type": "string",
              "id": 7
            },
            "pingInterval": {
              "type": "int32",
              "id": 8
            },
            "pingMaxOut": {
              "type": "int32",
              "id": 9
            },
            "protocol": {
              "type": "int32",
              "id": 10
            },
            "publicKey": {
              "type": "string",
              "id": 100
            }
          }
        },
        "Ping": {
          "fields": {
            "connID": {
              "type": "bytes",
              "id": 1
            }
          }
        },
        "PingResponse": {
          "fields": {
            "error": {
              "type": "string",
              "id": 1
            }
          }
        },
        "StartPosition": {
          "values": {
            "NewOnly": 0,
            "LastReceived": 1,
            "TimeDeltaStart": 2,
            "SequenceStart": 3,
            "First": 4
          }
        },
        "SubscriptionRequest": {
          "fields": {
            "clientID": {
              "type": "string",
              "id": 1
            },
            "subject": {
              "type": "string",
              "id": 2
            },
            "qGroup": {
              "type": "string",
              "id": 3
            },
            "inbox": {
              "type": "string",
              "id": 4
            },
            "maxInFlight": {
              "type": "int32",
              "id": 5
            },
            "ackWaitInSecs": {
              "type": "int32",
              "id": 6
            },
            "durableName": {
              "type": "string",
              "id": 7
            },
            "startPosition": {
              "type": "StartPosition",
              "id": 10
            },
            "startSequence": {
              "type": "uint64",
              "id": 11
            },
            "startTimeDelta": {
              "type": "int64",
              "id": 12
            }
          }
        },
        "SubscriptionResponse": {
          "fields": {
            "ackInbox": {
              "type": "string",
              "id": 2
            },
            "error": {
              "type": "string",
              "id": 3
            }
          }
        },
        "UnsubscribeRequest": {
          "fields": {
            "clientID": {
              "type": "string",
              "id": 1
            },
            "subject": {
              "type": "string",
              "id": 2
            },
            "inbox": {
              "type": "string",
              "id": 3
            },
            "durableName": {
              "type": "string",
              "id": 4
            }
          }
        },
        "CloseRequest": {
          "fields": {
            "clientID": {
              "type": "string",
              "id": 1
            }
          }
        },
        "CloseResponse": {
          "fields": {
            "error": {
              "type": "string",
              "id": 1
            }
          }
        }
      }
    },
    "spb": {
      "nested": {
        "SubState": {
          "fields": {
            "ID": {
              "type": "uint64",
              "id": 1
            },
            "clientID": {
              "type": "string",
              "id": 2
            },
            "qGroup": {
              "type": "string",
              "id": 3
            },
            "inbox": {
              "type": "string",
              "id": 4
            },
            "ackInbox": {
              "type": "string",
              "id": 5
            },
            "maxInFlight": {
              "type": "int32",
              "id": 6
            },
            "ackWaitInSecs": {
              "type": "int32",
              "id": 7
            },
            "durableName": {
              "type": "string",
              "id": 8
            },
            "lastSent": {
              "type": "uint64",
              "id": 9
            },
            "isDurable": {
              "type": "bool",
              "id": 10
            },
            "isClosed": {
              "type": "bool",
              "id": 11
            }
          }
        },
        "SubStateDelete": {
          "fields": {
            "ID": {
              "type": "uint64",
              "id": 1
            }
          }
        },
        "SubStateUpdate": {
          "fields": {
            "ID": {
              "type": "uint64",
              "id": 1
            },
            "seqno": {
              "type": "uint64",
              "id": 2
            }
          }
        },
        "ServerInfo": {
          "fields": {
            "ClusterID": {
              "type": "string",
              "id": 1
            },
            "Discovery": {
              "type": "string",
              "id": 2
            },
            "Publish": {
              "type": "string",
              "id": 3
            },
            "Subscribe": {
              "type": "string",
              "id": 4
            },
            "Unsubscribe": {
              "type": "string",
              "id": 5
            },
            "Close": {
              "type": "string",
              "id": 6
            },
            "SubClose": {
              "type": "string",
              "id": 7
            },
            "AcksSubs": {
              "type": "string",
              "id": 8
            },
            "NodeID": {
              "type": "string",
              "id": 9
            }
          }
        },
        "ClientInfo": {
          "fields": {
            "ID": {
              "type": "string",
              "id": 1
            },
            "HbInbox": {
              "type": "string",
              "id": 2
            },
            "ConnID": {
              "type": "bytes",
              "id": 3
            },
            "Protocol": {
              "type": "int32",
              "id": 4
            },
            "PingInterval": {
              "type": "int32",
              "id": 5
            },
            "PingMaxOut": {
              "type": "int32",
              "id": 6
            }
          }
        },
        "ClientDelete": {
          "fields": {
            "ID": {
              "type": "string",
              "id": 1
            }
          }
        },
        "CtrlMsg": {
          "fields": {
            "MsgType": {
              "type": "Type",
              "id": 1
            },
            "ServerID": {
              "type": "string",
              "id": 2
            },
            "Data": {
              "type": "bytes",
              "id": 3
            },
            "RefID": {
              "type": "string",
              "id": 4
            }
          },
          "nested": {
            "Type": {
              "values": {
                "SubUnsubscribe": 0,
                "SubClose": 1,
                "ConnClose": 2,
                "FTHeartbeat": 3,
                "Partitioning": 4
              }
            }
          }
        }
      }
    }
  }
};
